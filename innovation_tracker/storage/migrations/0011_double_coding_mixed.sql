-- Double coding meets CFIR's X (issue 16): migrations 0009 and 0010 were built side by side, so the two independent
-- codings (`coding_rating`) and the consensus had no place for a mixed rating, and an X would have been kept as a
-- plain 0. They get factor_rating's `mixed` flag and its rule (X is stored as rating 0 with `mixed` set). DuckDB
-- cannot add a CHECK to a table, so each is rebuilt under its own name, as 0010 rebuilt factor_rating; no foreign key
-- references either. Rows already stored were not mixed (nothing could write an X there before).
CREATE TABLE coding_rating_before_0011 AS SELECT * FROM coding_rating;
DROP TABLE coding_rating;
CREATE TABLE coding_rating (
    interview_id INTEGER NOT NULL REFERENCES interview (interview_id),
    coding       TINYINT NOT NULL CHECK (coding IN (1, 2)),
    factor_code  VARCHAR NOT NULL REFERENCES factor (factor_code),
    rating       TINYINT NOT NULL,
    evidence     VARCHAR,
    shareable    BOOLEAN NOT NULL DEFAULT FALSE,
    mixed        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (interview_id, coding, factor_code),
    CHECK (NOT mixed OR rating = 0)
);
INSERT INTO coding_rating (interview_id, coding, factor_code, rating, evidence, shareable, mixed)
    SELECT interview_id, coding, factor_code, rating, evidence, shareable, FALSE FROM coding_rating_before_0011;
DROP TABLE coding_rating_before_0011;

-- A consensus of "not cited" keeps rating NULL and mixed FALSE.
CREATE TABLE consensus_before_0011 AS SELECT * FROM consensus;
DROP TABLE consensus;
CREATE TABLE consensus (
    interview_id INTEGER NOT NULL REFERENCES interview (interview_id),
    factor_code  VARCHAR NOT NULL REFERENCES factor (factor_code),
    rating       TINYINT,
    reason       VARCHAR NOT NULL CHECK (length(trim(reason)) > 0),
    decided_by   VARCHAR NOT NULL,
    decided_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    mixed        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (interview_id, factor_code),
    CHECK (NOT mixed OR rating = 0)
);
INSERT INTO consensus (interview_id, factor_code, rating, reason, decided_by, decided_at, mixed)
    SELECT interview_id, factor_code, rating, reason, decided_by, decided_at, FALSE FROM consensus_before_0011;
DROP TABLE consensus_before_0011;

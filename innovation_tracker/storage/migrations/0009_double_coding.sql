-- Double coding (issue 16): an interview coded independently by a second coder, blind to the first coding, and the
-- consensus that settles where the two disagree. `factor_rating` keeps holding the rating in force (what
-- trajectories, the matrix, search and exports read): the first coding until a disagreement is reconciled, then the
-- consensus. The two independent codings are kept here as they were when both were saved, because agreement must
-- compare the original codings, not what reconciliation made of them. Side tables, because DuckDB cannot alter a
-- table that foreign keys reference.

-- One row per coding of a double-coded interview. Coding 2 is the blind second coding: its row exists from the
-- moment a coder starts it (saved_at NULL: in progress, and every read made for that coder hides the interview's
-- first coding) until it is saved. Coding 1 is the first coding as stored when the second was saved.
CREATE TABLE coding (
    interview_id INTEGER NOT NULL REFERENCES interview (interview_id),
    coding       TINYINT NOT NULL CHECK (coding IN (1, 2)),
    coder        VARCHAR NOT NULL,
    started_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    saved_at     TIMESTAMP,
    PRIMARY KEY (interview_id, coding)
);

-- The factors each coding cited, with its rating (validated by the codebook's rules, as factor_rating's are),
-- evidence and shareable flag. A factor a coding did not cite has no row.
CREATE TABLE coding_rating (
    interview_id INTEGER NOT NULL REFERENCES interview (interview_id),
    coding       TINYINT NOT NULL CHECK (coding IN (1, 2)),
    factor_code  VARCHAR NOT NULL REFERENCES factor (factor_code),
    rating       TINYINT NOT NULL,
    evidence     VARCHAR,
    shareable    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (interview_id, coding, factor_code)
);

-- The agreed rating of each disagreement (a factor cited by one coding only, or rated differently by the two):
-- NULL when the coders agreed it was not cited. Who, when and why; the change it made to factor_rating is audited.
CREATE TABLE consensus (
    interview_id INTEGER NOT NULL REFERENCES interview (interview_id),
    factor_code  VARCHAR NOT NULL REFERENCES factor (factor_code),
    rating       TINYINT,
    reason       VARCHAR NOT NULL CHECK (length(trim(reason)) > 0),
    decided_by   VARCHAR NOT NULL,
    decided_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (interview_id, factor_code)
);

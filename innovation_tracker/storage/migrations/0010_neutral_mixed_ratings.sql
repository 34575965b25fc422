-- CFIR's rating rules (issue 16): besides −2, −1, +1 and +2, a codebook may declare 0 (neutral: the factor came up
-- but pulled neither way) and X (mixed: it pulled both ways about equally). The study records whether its codebook
-- declares them; the Brooks 2011 codebook does not, CFIR 2.0 does.
ALTER TABLE study ADD COLUMN neutral_mixed BOOLEAN DEFAULT FALSE;
UPDATE study SET neutral_mixed = FALSE WHERE neutral_mixed IS NULL;

-- X is stored as rating 0 with `mixed` set, so every sum, mean and count treats it as it treats 0 (it adds nothing
-- to either weight and counts as cited) and no query has to know about it; only what shows a rating (forms,
-- exports, agreement) reads the flag. Whether 0 and X are allowed is the codebook's rule, checked on every write
-- (domain.check_rating); the table only keeps −2..+2 and X = 0.
-- DuckDB cannot change a CHECK constraint, so the table is rebuilt under its own name (a renamed table would leave
-- the referenced tables' foreign-key records naming the old one); no foreign key references factor_rating.
CREATE TABLE factor_rating_before_0010 AS SELECT * FROM factor_rating;
DROP TABLE factor_rating;
CREATE TABLE factor_rating (
    interview_id INTEGER NOT NULL REFERENCES interview (interview_id),
    factor_code  VARCHAR NOT NULL REFERENCES factor (factor_code),
    rating       TINYINT NOT NULL CHECK (rating BETWEEN -2 AND 2),
    evidence     VARCHAR,
    shareable    BOOLEAN NOT NULL DEFAULT FALSE,
    coder        VARCHAR,
    mixed        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (interview_id, factor_code),
    CHECK (NOT mixed OR rating = 0)
);
INSERT INTO factor_rating (interview_id, factor_code, rating, evidence, shareable, coder, mixed)
    SELECT interview_id, factor_code, rating, evidence, shareable, coder, FALSE FROM factor_rating_before_0010;
DROP TABLE factor_rating_before_0010;

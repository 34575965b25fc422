-- A factor or indicator that the study no longer uses is retired rather than deleted: its ratings and scores stay
-- and still show, but it is not offered for new coding or scoring. (DuckDB cannot add a column to a table that
-- other tables reference, so the flag is a row in a table of its own.)
CREATE TABLE retired_factor (
    factor_code VARCHAR PRIMARY KEY REFERENCES factor (factor_code),
    retired_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
CREATE TABLE retired_indicator (
    indicator_code VARCHAR PRIMARY KEY REFERENCES indicator (indicator_code),
    retired_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);

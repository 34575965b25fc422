-- DuckDB runs an UPDATE of an indexed column as delete + insert, which a referencing foreign key refuses
-- ("still referenced"), so the UNIQUE index on user_account.email made a team account's e-mail unchangeable.
-- E-mail uniqueness is case-insensitive anyway, which an index on the raw column cannot express: the accounts
-- service checks it inside the write transaction instead.
CREATE TABLE user_project_copy AS SELECT * FROM user_project;
DROP TABLE user_project;
CREATE TABLE user_account_copy AS SELECT * FROM user_account;
DROP TABLE user_account;

CREATE TABLE user_account (
    username        VARCHAR PRIMARY KEY CHECK (regexp_full_match(username, '[a-z0-9][a-z0-9._-]{1,63}')),
    display_name    VARCHAR,
    email           VARCHAR,
    role            VARCHAR NOT NULL CHECK (role IN ('admin', 'evaluator', 'funder', 'team')),
    password_hash   VARCHAR,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TIMESTAMP,
    created_at      TIMESTAMP NOT NULL DEFAULT current_timestamp
);
INSERT INTO user_account SELECT * FROM user_account_copy;
DROP TABLE user_account_copy;

CREATE TABLE user_project (
    username     VARCHAR NOT NULL REFERENCES user_account (username),
    project_code VARCHAR NOT NULL REFERENCES project (project_code),
    PRIMARY KEY (username, project_code)
);
INSERT INTO user_project SELECT * FROM user_project_copy;
DROP TABLE user_project_copy;

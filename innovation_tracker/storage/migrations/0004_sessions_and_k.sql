-- Log-in sessions that survive a reload: the browser keeps a random token in a cookie, this table only its
-- SHA-256. No foreign key to user_account on purpose: DuckDB 2.0 refuses to update a row that another table
-- references, which would make every account with a session unchangeable (the same trap as user_project).
-- `account_stamp` is a digest of the account's role, projects, active flag and password hash when the session
-- began: a session whose account no longer matches it is refused, whichever code path changed the account.
CREATE TABLE login_session (
    token_hash    VARCHAR PRIMARY KEY CHECK (regexp_full_match(token_hash, '[0-9a-f]{64}')),
    username      VARCHAR NOT NULL,
    method        VARCHAR NOT NULL CHECK (method IN ('password', 'first_run', 'sso')),
    created_at    TIMESTAMP NOT NULL,
    last_seen     TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    account_stamp VARCHAR NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX login_session_username ON login_session (username);

-- De-identification (DESIGN §4): funders and teams see a role only where at least this many participants of the
-- project hold it; smaller groups are pooled as "Stakeholder".
ALTER TABLE study ADD COLUMN min_role_group INTEGER DEFAULT 3;

-- Data capture that loses nothing (issue 14).
-- record_version: an edit counter per record (project, participant, interview, a project's scores at a wave),
-- checked and raised inside each edit's transaction, so a save made from a stale form is refused, not silently
-- applied over someone else's. A table of its own because DuckDB cannot add a column to a table that a foreign
-- key references.
CREATE TABLE record_version (
    entity     VARCHAR NOT NULL,
    entity_key VARCHAR NOT NULL,
    version    INTEGER NOT NULL CHECK (version > 0),
    changed_by VARCHAR NOT NULL,
    changed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (entity, entity_key)
);

-- form_draft: what a user was typing into a form, kept while they type so a lost session can offer it back;
-- deleted when the form is saved or the draft discarded. Drafts hold identified text: only their owner reads them.
CREATE TABLE form_draft (
    username         VARCHAR NOT NULL,
    form             VARCHAR NOT NULL,
    title            VARCHAR NOT NULL,
    participant_code VARCHAR,
    params           JSON NOT NULL,
    content          JSON NOT NULL,
    saved_at         TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (username, form)
);

-- participant_contact: how to reach a participant for a telephone follow-up. Identifiers: only admins and
-- evaluators read them (storage/access.py shadows the table away for everyone else); erasure deletes the row.
CREATE TABLE participant_contact (
    participant_code VARCHAR PRIMARY KEY REFERENCES participant (participant_code),
    telephone        VARCHAR,
    email            VARCHAR,
    call_times       VARCHAR
);

-- The study (one per database file), its schedule, codebook and indicator set, and the data collected.
-- Codes are the keys users know; DuckDB cannot update a key that a foreign key references, so codes are fixed
-- once anything points at them. Interview and milestone ids are given by the writer (max + 1 inside the
-- transaction) rather than by a sequence, because imports keep their ids and DuckDB cannot move a sequence.

CREATE TABLE study (
    study_id   INTEGER PRIMARY KEY DEFAULT 1 CHECK (study_id = 1),
    name       VARCHAR NOT NULL CHECK (length(trim(name)) > 0),
    funder     VARCHAR,
    start_date DATE NOT NULL,
    end_date   DATE NOT NULL,
    is_demo    BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK (end_date > start_date)
);

CREATE TABLE wave (
    wave               VARCHAR PRIMARY KEY CHECK (regexp_full_match(wave, '[a-z][a-z0-9_]*')),
    label              VARCHAR NOT NULL,
    position           INTEGER NOT NULL UNIQUE,
    offset_days        INTEGER NOT NULL CHECK (offset_days >= 0),
    window_before_days INTEGER NOT NULL CHECK (window_before_days >= 0),
    window_after_days  INTEGER NOT NULL CHECK (window_after_days >= 0),
    default_mode       VARCHAR NOT NULL CHECK (default_mode IN ('face_to_face', 'telephone', 'video'))
);

CREATE TABLE factor (
    factor_code    VARCHAR PRIMARY KEY CHECK (regexp_full_match(factor_code, '[a-z][a-z0-9_]*')),
    domain         VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL CHECK (kind IN ('barrier', 'facilitator', 'either')),
    label          VARCHAR NOT NULL,
    description    VARCHAR,
    paper_projects INTEGER CHECK (paper_projects >= 0),
    position       INTEGER NOT NULL
);

CREATE TABLE indicator (
    indicator_code VARCHAR PRIMARY KEY CHECK (regexp_full_match(indicator_code, '[a-z][a-z0-9_]*')),
    label          VARCHAR NOT NULL,
    value_type     VARCHAR NOT NULL CHECK (value_type IN ('ordinal', 'boolean', 'count', 'rag')),
    min_value      INTEGER,
    max_value      INTEGER,
    better         VARCHAR NOT NULL DEFAULT 'higher' CHECK (better IN ('higher', 'lower')),
    description    VARCHAR,
    position       INTEGER NOT NULL
);

CREATE TABLE project (
    project_code          VARCHAR PRIMARY KEY CHECK (regexp_full_match(project_code, '[A-Z][A-Z0-9_-]{0,15}')),
    name                  VARCHAR NOT NULL CHECK (length(trim(name)) > 0),
    setting               VARCHAR NOT NULL CHECK (setting IN ('nhs', 'community', 'voluntary')),
    host_organisation     VARCHAR,
    relation_to_statutory VARCHAR NOT NULL CHECK (relation_to_statutory IN ('internal', 'external')),
    start_date            DATE,
    status                VARCHAR NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'mainstreamed', 'closed', 'stalled')),
    innovation_type       VARCHAR,
    novelty               VARCHAR CHECK (novelty IN ('new', 'expansion', 'existing'))
);

CREATE TABLE participant (
    participant_code VARCHAR PRIMARY KEY CHECK (regexp_full_match(participant_code, '[A-Za-z0-9][A-Za-z0-9_-]{0,31}')),
    project_code     VARCHAR NOT NULL REFERENCES project (project_code),
    role             VARCHAR NOT NULL CHECK (role IN ('service_user', 'caregiver', 'commissioner',
                                                      'health_professional', 'non_health_professional', 'manager')),
    enrolment_date   DATE NOT NULL,
    consent_date     DATE,
    status           VARCHAR NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'withdrawn')),
    withdrawal_date  DATE,
    CHECK ((status = 'withdrawn') = (withdrawal_date IS NOT NULL)),
    CHECK (withdrawal_date IS NULL OR withdrawal_date >= enrolment_date)
);

CREATE TABLE interview (
    interview_id     INTEGER PRIMARY KEY,
    participant_code VARCHAR NOT NULL REFERENCES participant (participant_code),
    wave             VARCHAR NOT NULL REFERENCES wave (wave),
    interview_date   DATE NOT NULL,
    mode             VARCHAR NOT NULL CHECK (mode IN ('face_to_face', 'telephone', 'video')),
    interviewer      VARCHAR,
    duration_min     INTEGER CHECK (duration_min BETWEEN 1 AND 600),
    status           VARCHAR NOT NULL CHECK (status IN ('completed', 'missed', 'declined')),
    summary          VARCHAR,
    UNIQUE (participant_code, wave)
);

CREATE TABLE factor_rating (
    interview_id INTEGER NOT NULL REFERENCES interview (interview_id),
    factor_code  VARCHAR NOT NULL REFERENCES factor (factor_code),
    rating       TINYINT NOT NULL CHECK (rating BETWEEN -2 AND 2 AND rating <> 0),
    evidence     VARCHAR,
    shareable    BOOLEAN NOT NULL DEFAULT FALSE,
    coder        VARCHAR,
    PRIMARY KEY (interview_id, factor_code)
);

CREATE TABLE indicator_value (
    project_code   VARCHAR NOT NULL REFERENCES project (project_code),
    wave           VARCHAR NOT NULL REFERENCES wave (wave),
    indicator_code VARCHAR NOT NULL REFERENCES indicator (indicator_code),
    value          VARCHAR NOT NULL,
    PRIMARY KEY (project_code, wave, indicator_code)
);

CREATE TABLE milestone (
    milestone_id   INTEGER PRIMARY KEY,
    project_code   VARCHAR NOT NULL REFERENCES project (project_code),
    milestone_date DATE NOT NULL,
    kind           VARCHAR NOT NULL CHECK (kind IN ('funding_decision', 'host_reorganisation', 'launch',
                                                      'champion_left', 'other')),
    title          VARCHAR NOT NULL CHECK (length(trim(title)) > 0),
    notes          VARCHAR
);

CREATE TABLE user_account (
    username        VARCHAR PRIMARY KEY CHECK (regexp_full_match(username, '[a-z0-9][a-z0-9._-]{1,63}')),
    display_name    VARCHAR,
    email           VARCHAR UNIQUE,
    role            VARCHAR NOT NULL CHECK (role IN ('admin', 'evaluator', 'funder', 'team')),
    password_hash   VARCHAR,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TIMESTAMP,
    created_at      TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE user_project (
    username     VARCHAR NOT NULL REFERENCES user_account (username),
    project_code VARCHAR NOT NULL REFERENCES project (project_code),
    PRIMARY KEY (username, project_code)
);

CREATE SEQUENCE audit_id_seq START 1;

-- Append-only: the storage layer has no function that updates or deletes a row here.
CREATE TABLE audit_entry (
    audit_id   BIGINT PRIMARY KEY DEFAULT nextval('audit_id_seq'),
    changed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    actor      VARCHAR NOT NULL,
    action     VARCHAR NOT NULL CHECK (action IN ('create', 'update', 'delete', 'restore', 'erase', 'import',
                                                   'export', 'login', 'login_failed', 'logout', 'report')),
    entity     VARCHAR NOT NULL,
    entity_key VARCHAR,
    before     JSON,
    after      JSON
);

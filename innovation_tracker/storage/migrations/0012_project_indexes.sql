-- Indexes on the foreign keys that a project's reads follow and that no primary key or UNIQUE constraint leads
-- with. PostgreSQL has no other way to find one project's participants or milestones than reading every row: at
-- S = 1000 (65,000 participants) a project's ratings by wave took 42–58 ms without the participant index and
-- 2–7 ms with it (participant → interview by its UNIQUE (participant_code, wave) → factor_rating by its primary
-- key); a project's milestones 20 ms → 0.4 ms. The other foreign keys already lead an index: interview's
-- participant_code, factor_rating's and the codings' interview_id, indicator_value's project_code, user_project's
-- username. DuckDB finds a project's rows by its zone maps and does not need these; they cost it little (two small
-- tables, written a row at a time).
CREATE INDEX participant_project ON participant (project_code);
CREATE INDEX milestone_project ON milestone (project_code);

-- The project a write changed, when it changed one project only (NULL: the study, several projects, an account,
-- or not known). Kept reads of the whole portfolio (storage/kept.py) are brought up to date after a save by
-- re-reading only the projects the new audit entries name, instead of every project: at S = 1000 on PostgreSQL
-- the schedule's counts, the balance and the citations took seconds each after any save. `record_audit` fills it.
ALTER TABLE audit_entry ADD COLUMN project_code VARCHAR;

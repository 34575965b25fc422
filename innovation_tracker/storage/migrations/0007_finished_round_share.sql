-- A round (wave) counts as finished when its window has closed for every participant or when at least this share
-- of its interviews are done; comparisons default to the latest finished round. A study setting, 0.8 unless set.
ALTER TABLE study ADD COLUMN finished_round_share DOUBLE DEFAULT 0.8;
UPDATE study SET finished_round_share = 0.8 WHERE finished_round_share IS NULL;

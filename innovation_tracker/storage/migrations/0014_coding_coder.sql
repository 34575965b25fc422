-- Every read an editor makes hides the interviews they are coding blind (storage/access.py, `_blind`): the second
-- codings in progress that are theirs, found by coder. Without an index PostgreSQL read all 92,000 codings at
-- S = 1000 for each of a page's reads (6–10 ms each); kept reads ask it once per data version (storage/kept.py).
CREATE INDEX coding_coder ON coding (coder);

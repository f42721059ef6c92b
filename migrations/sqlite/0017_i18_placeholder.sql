-- Placeholder on branch i18 only, so that 0019 (assigned to issue 18) loads in sequence before
-- the migrations numbered 0013-0018 of the other branches are merged: DELETE this file when
-- merging (the real 0017 comes from another branch).
SELECT 1;

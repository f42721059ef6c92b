-- A warning about how the run's results were made, shown with them: every HTTP probe failed the
-- same way (a broken probe, a proxy in the way), so the counts say more about the probe than
-- the hosts. Empty for runs without one.
ALTER TABLE runs ADD COLUMN warning text NOT NULL DEFAULT '';

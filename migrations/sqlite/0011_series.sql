-- A run belongs to a series (clawcensus trend, report and the web view compare a run only with
-- runs of its series): the plan's scope identity (census.Plan.SeriesKey: targets, target files
-- by content, candidates, ports, lab, exclusions, opt-outs, scope; "scope:…") or a name given
-- with plan/scan --series. Runs made before this migration have no plan identity to derive it
-- from here, so they get the fallback store.FallbackSeries writes too: their targets text and
-- ports ("targets:127.0.0.0/24 ports:18789"). Runs of the same targets and ports still group;
-- two runs that differed only in their exclusions are grouped although they should not be.
ALTER TABLE runs ADD COLUMN series TEXT NOT NULL DEFAULT '';
UPDATE runs SET series = 'targets:' || targets || ' ports:' || ports WHERE series = '';
CREATE INDEX runs_series ON runs (series, started_at);

-- 0004: no index on (ws_id, span_id). It served /track-request's lookup of a
-- span by its id alone, but span ids are random, so every span written put
-- an entry on a random leaf of it: one more page per span in the WAL of every
-- transaction, which cost bulk ingest of real (random) ids 45 % of its rate.
-- The writer finds recent spans by id in memory instead (src/store/spanwin.h).
DROP INDEX IF EXISTS spans_span_id;

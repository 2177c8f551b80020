-- 0008: retention. A workspace's own retention in days (NULL: the config's
-- retention_days; 0: keep forever), set with `tracestore workspace
-- set-retention`. The sweep (src/store/sqlite_sweep.c) finds expired traces
-- through traces_ws_end (ws_id, eff_end, id); traces without an end (no
-- span and no explicit end time) age from their last write instead, found
-- through the partial index below, which only such traces enter.
ALTER TABLE workspaces ADD COLUMN retention_days INTEGER;
CREATE INDEX traces_ws_noend ON traces (ws_id, updated_ns)
    WHERE t_ended_ns IS NULL AND ended_ns IS NULL;

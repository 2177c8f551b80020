-- 0009 (issue 23.7 and 23.8).
--
-- A span's reported total_tokens now wins over prompt + completion in
-- its trace's total_tokens (docs/API.md, "Token totals"). Every span that
-- reports tokens has total_tokens stored (ingest derives prompt +
-- completion when none was reported), so a trace's total is the sum of its
-- spans' total_tokens. Traces summed under the old rule are re-summed where
-- one of their spans reported a total other than prompt + completion; the
-- sum saturates at INT64_MAX as the writer's does.
UPDATE traces SET total_tokens = (
    SELECT CASE WHEN total(s.total_tokens) >= 9223372036854775807.0
                THEN 9223372036854775807
                ELSE CAST(total(s.total_tokens) AS INTEGER) END
    FROM spans s WHERE s.trow = traces.id)
WHERE id IN (SELECT DISTINCT trow FROM spans
             WHERE total_tokens IS NOT NULL
               AND total_tokens IS NOT coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)
               AND (prompt_tokens IS NOT NULL OR completion_tokens IS NOT NULL));

-- A trace that starts at 0 (1970-01-01T00:00:00Z, a valid time) has a
-- latency: eff_latency took a start of 0 for "none" and gave 0, so latency
-- filters, sorts and /v1/metrics percentiles missed it. A trace without a
-- start (no span, no explicit time) still has 0. The column is rebuilt
-- (SQLite cannot alter a generated column's expression) with its index.
DROP INDEX traces_ws_latency;
ALTER TABLE traces DROP COLUMN eff_latency;
ALTER TABLE traces ADD COLUMN eff_latency INTEGER
    GENERATED ALWAYS AS (coalesce(t_latency_ms,
        CASE WHEN coalesce(t_started_ns, started_ns) IS NOT NULL
                  AND coalesce(t_ended_ns, ended_ns) >= coalesce(t_started_ns, started_ns)
             THEN (coalesce(t_ended_ns, ended_ns) - coalesce(t_started_ns, started_ns)) / 1000000
             ELSE 0 END)) VIRTUAL;
CREATE INDEX traces_ws_latency ON traces (ws_id, eff_latency, id);

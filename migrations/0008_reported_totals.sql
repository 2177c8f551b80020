-- 0008: a span's reported total_tokens now wins over prompt + completion in
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

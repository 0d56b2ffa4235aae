-- Sessions whose transaction has held a lock on a Gordon table for min_age_s seconds or
-- more (or whose start this role cannot see), and sessions blocking another one right now;
-- oldest transaction first.
WITH sessions AS (
-- include: _sessions
)
SELECT * FROM sessions
WHERE NOT is_self
  AND (cardinality(relations) > 0
       AND (xact_start <= now() - make_interval(secs => %(min_age_s)s) OR NOT visible)
       OR cardinality(blocking) > 0)
ORDER BY xact_start NULLS LAST, pid

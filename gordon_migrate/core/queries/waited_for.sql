-- The sessions that the backend pid waits for, with one lock each holds (a relation lock
-- first).
WITH holders AS (
-- include: _holders
)
SELECT DISTINCT ON (pid)
       pid, application_name, username, client, backend_start, xact_start, state,
       state_change, wait, query, observed_at, visible, is_self, relation, mode, granted
FROM holders
WHERE granted AND pid = ANY(pg_blocking_pids(%(pid)s))
ORDER BY pid, relation_oid IS NULL, mode
LIMIT 20

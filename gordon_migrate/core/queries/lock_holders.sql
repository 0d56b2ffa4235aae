-- Other sessions of this database holding or queued for a lock on the given relations
-- (schema.table, as the lint's lock plan names them), one row per lock.
WITH holders AS (
-- include: _holders
)
SELECT pid, application_name, username, client, backend_start, xact_start, state,
       state_change, wait, query, observed_at, visible, is_self, relation, mode, granted
FROM holders
WHERE locktype = 'relation'
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND NOT is_self
  AND relation = ANY(%(relations)s::text[])
ORDER BY pid, relation

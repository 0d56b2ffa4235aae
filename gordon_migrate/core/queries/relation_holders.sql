-- Other sessions holding granted locks on the given relations (qualified or not, as
-- to_regclass reads them; unknown ones skipped), one row per lock: who blocked a migration
-- statement that ran out of lock_timeout.
WITH holders AS (
-- include: _holders
)
SELECT DISTINCT ON (pid, relation_oid, mode)
       pid, application_name, username, client, backend_start, xact_start, state,
       state_change, wait, query, observed_at, visible, is_self, relation, mode, granted
FROM holders
WHERE granted AND NOT is_self AND locktype = 'relation'
  AND relation_oid IN (SELECT to_regclass(r) FROM unnest(%(relations)s::text[]) AS r)
ORDER BY pid, relation_oid, mode
LIMIT 20

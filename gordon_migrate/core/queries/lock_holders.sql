-- Other sessions of this database holding or queued for a lock on the given relations
-- (schema.table, as the lint's lock plan names them), one row per lock.
--
-- The columns of a Holder (gordon_migrate/core/sessions.py): a Session as pg_stat_activity
-- shows it, with one lock of pg_locks (relation, mode, granted). pg_locks and
-- pg_blocking_pids() are visible to every role; pg_stat_activity hides other roles' details
-- (state, client, transaction start) unless the role is in pg_read_all_stats: visible says
-- so, the client is then empty and the statement is pg_stat_activity's own placeholder
-- (<insufficient privilege>), which the lock plan shows as it always has.
SELECT l.pid,
       coalesce(a.application_name, '') AS application_name,
       coalesce(a.usename, '') AS username,
       CASE WHEN v.visible THEN coalesce(host(a.client_addr), 'local socket') ELSE '' END
           AS client,
       a.backend_start, a.xact_start, coalesce(a.state, '') AS state, a.state_change,
       coalesce(a.wait_event_type || ':' || a.wait_event, '') AS wait,
       coalesce(a.query, '') AS query,
       clock_timestamp() AS observed_at,
       v.visible,
       l.pid = pg_backend_pid() AS is_self,
       n.nspname || '.' || c.relname AS relation, l.mode, l.granted
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
CROSS JOIN LATERAL (
    SELECT a.pid IS NOT NULL
           AND (coalesce(pg_has_role(a.usesysid, 'USAGE'), false)
                OR pg_has_role('pg_read_all_stats', 'USAGE')) AS visible
) v
WHERE l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database
                                                 WHERE datname = current_database())
  AND l.pid <> pg_backend_pid()
  AND n.nspname || '.' || c.relname = ANY(%(relations)s::text[])
ORDER BY l.pid, relation

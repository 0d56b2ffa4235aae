-- Every lock of pg_locks with the session holding or awaiting it, the asking one included:
-- the base the holder queries (relation_holders, waited_for, lock_holders) select from with
-- `-- include: _holders`.
--
-- The columns of a Holder (gordon_migrate/core/sessions.py): a Session as pg_stat_activity
-- shows it, with one lock of pg_locks (relation, mode, granted); then the lock's own
-- locktype, relation oid and database, to select by. pg_locks and pg_blocking_pids() are
-- visible to every role; pg_stat_activity hides other roles' details (state, client,
-- transaction start) unless the role is in pg_read_all_stats: visible says so, the client is
-- then empty and the statement is pg_stat_activity's own placeholder (<insufficient
-- privilege>), which the lock plan shows as it always has.
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
       coalesce(n.nspname || '.' || c.relname, l.locktype) AS relation, l.mode, l.granted,
       l.locktype, l.relation AS relation_oid, l.database
FROM pg_locks l
LEFT JOIN pg_class c ON c.oid = l.relation
LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
CROSS JOIN LATERAL (
    SELECT a.pid IS NOT NULL
           AND (coalesce(pg_has_role(a.usesysid, 'USAGE'), false)
                OR pg_has_role('pg_read_all_stats', 'USAGE')) AS visible
) v

-- Every backend of this database, the asking one included: the base the session queries
-- (session, advisory_holder, blockers) select from with `-- include: _sessions`.
--
-- The columns of a Session (gordon_migrate/core/sessions.py), exactly: the backend as
-- pg_stat_activity shows it, the relation locks it holds on tables of the Gordon schemas
-- (every non-system schema, as drift-check scopes them) in an open transaction, and the
-- sessions waiting on it. pg_stat_activity hides other roles' details from a role without
-- pg_read_all_stats: visible says so, and client and statement are then empty.
WITH held AS (
    SELECT l.pid,
           array_agg(DISTINCT format('%%I.%%I (%%s)', n.nspname, c.relname, l.mode)) AS relations,
           min(l.virtualtransaction) AS transaction
    FROM pg_locks l
    JOIN pg_class c ON c.oid = l.relation
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE l.locktype = 'relation' AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
      AND c.relkind IN ('r', 'p', 'm')
    GROUP BY l.pid
), waiting AS (
    -- pg_locks, not pg_stat_activity's wait_event: every role sees who waits on a lock.
    SELECT DISTINCT l.pid AS waiter, unnest(pg_blocking_pids(l.pid)) AS blocker
    FROM pg_locks l
    JOIN pg_stat_activity w ON w.pid = l.pid
    WHERE NOT l.granted AND w.datname = current_database()
)
SELECT a.pid,
       coalesce(a.application_name, '') AS application_name,
       coalesce(a.usename, '') AS username,
       CASE WHEN v.visible THEN coalesce(host(a.client_addr), 'local socket') ELSE '' END
           AS client,
       a.backend_start, a.xact_start, coalesce(a.state, '') AS state, a.state_change,
       coalesce(a.wait_event_type || ':' || a.wait_event, '') AS wait,
       CASE WHEN v.visible THEN coalesce(a.query, '') ELSE '' END AS query,
       now() AS observed_at,
       coalesce(h.relations, '{}') AS relations,
       coalesce((SELECT array_agg(DISTINCT x.waiter ORDER BY x.waiter) FROM waiting x
                 WHERE x.blocker = a.pid), '{}') AS blocking,
       v.visible,
       coalesce(h.transaction, '') AS transaction,
       a.pid = pg_backend_pid() AS is_self
FROM pg_stat_activity a
CROSS JOIN LATERAL (
    SELECT coalesce(pg_has_role(a.usesysid, 'USAGE'), false)
           OR pg_has_role('pg_read_all_stats', 'USAGE') AS visible
) v
LEFT JOIN held h ON h.pid = a.pid
WHERE a.datname = current_database()

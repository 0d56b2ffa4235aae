-- The session holding the session-level advisory lock (classid, objid) of this database,
-- the asking session included.
WITH sessions AS (
-- include: _sessions
)
SELECT * FROM sessions
WHERE pid = (SELECT l.pid FROM pg_locks l
             WHERE l.locktype = 'advisory' AND l.granted AND l.database = (
                     SELECT oid FROM pg_database WHERE datname = current_database())
               AND l.classid = %(classid)s AND l.objid = %(objid)s AND l.objsubid = 1
             LIMIT 1)

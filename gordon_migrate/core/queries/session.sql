-- One backend of this database, by pid (the asking session never).
WITH sessions AS (
-- include: _sessions
)
SELECT * FROM sessions
WHERE pid = %(pid)s AND NOT is_self

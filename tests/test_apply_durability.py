"""Apply commits its migrations without a WAL flush each and flushes once before reporting
success: a server crash right after apply exits 0 must lose nothing.

Needs a server of its own to crash (``pg_ctl stop -m immediate``: shared memory, and any WAL
not yet written from it, is thrown away, as in a power cut of the database host). The WAL
writer is slowed to its 10 s maximum so that a run which skipped the final flush would
really leave its last commits in memory.
"""

from __future__ import annotations

import pytest

from gordon_migrate.apply import engine
from gordon_migrate.core import bundle
from gordon_migrate.core import dsn as dsn_module
from gordon_migrate.testing import TestServer
from tests.support.pgcluster import cluster
from tests.support.sql import versions


@pytest.mark.embedded_only("needs the embedded server's binaries to run a server of its own")
def test_a_crash_right_after_apply_succeeded_loses_no_migration(gordon_server: TestServer) -> None:
    migrations = bundle.load()
    with cluster(gordon_server, "gordon-crash-") as own:
        own.pg("initdb", "-D", str(own.data), "--auth=trust", "-U", "postgres", "--no-sync")
        own.start("wal_writer_delay=10s", "wal_writer_flush_after=0")
        result = engine.apply(dsn_module.parse(own.dsn), migrations)
        assert len(result.applied) == len(migrations)
        own.stop("immediate")  # the host loses power
        own.start()
        assert versions(own.dsn) == [m.version for m in migrations]

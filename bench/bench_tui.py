"""How long until the TUI's first screen shows data, on the full v7 schema (target: <= 1.5 s).

Two figures, each the median and worst of ``--runs`` runs:

- in process: from ``GordonApp`` construction to the Overview holding data (headless
  ``run_test`` at 80x24): Textual start-up, the worker's connection and the overview queries;
- cold process: from spawning ``python`` to the same point, Python and Textual imports included
  (what an operator waits for after typing ``gordon-migrate tui``, minus the terminal).

Usage: ``python bench/bench_tui.py [--database-url URL] [--runs 5]``. Without a URL an embedded
PostgreSQL 18 is started in a temporary directory and a database with every migration applied
is created in it.

``--cycle`` measures instead what one live refresh cycle of the Overview costs the server
(``overview.live_overview``, what the TUI runs every 2 s): statements and server time per
cycle, from ``pg_stat_statements`` (calls, and execution plus planning time), on the v7
database and on one with 2,000 extra tables. The embedded server has no pg_stat_statements, so
``--cycle`` runs a throwaway server of its own from ``--pg-bin`` (default: the newest
/usr/lib/postgresql/*/bin) on a Unix socket in a temporary directory, started with
``shared_preload_libraries=pg_stat_statements`` and ``pg_stat_statements.track_planning=on``;
a third database is v7 but its last three migrations (pending: a cycle then also reads who holds
locks conflicting with their plan).
Connection set-up (the backend's fork and authentication) is not a statement: it is reported
apart, as the client sees it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import conninfo, sql

DATABASE = "gordon_bench_tui"


async def _first_data(url: str) -> float:
    """Seconds from app construction to the Overview holding data."""
    from gordon_migrate.core import bundle, dsn
    from gordon_migrate.tui.app import GordonApp
    from gordon_migrate.tui.screens.overview import OverviewScreen

    started = time.perf_counter()
    app = GordonApp(dsn.parse(url), bundle.load())
    async with app.run_test(size=(80, 24)) as pilot:
        while True:
            screen = app.screen
            if isinstance(screen, OverviewScreen):
                if screen.data is not None:
                    elapsed = time.perf_counter() - started
                    break
                if screen.failure is not None:
                    raise SystemExit(f"the overview failed: {screen.failure}")
            await pilot.pause(0.005)
        await pilot.press("q")
    return elapsed


def _prepare(url: str | None, workdir: Path) -> str:
    """A database with every bundled migration applied; returns its DSN."""
    from gordon_migrate.apply import engine
    from gordon_migrate.core import bundle, dsn

    if url is None:
        from gordon_migrate.core import embedded

        server = embedded.start(workdir / "pg", 18, keep=False)
        admin = server.admin_dsn
    else:
        admin = url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    target = conninfo.make_conninfo(admin, dbname=DATABASE)
    engine.apply(dsn.parse(target), bundle.load())
    return target


def _cold(url: str) -> float:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "ready", out.stdout + out.stderr
    return time.perf_counter() - started


def _child(url: str) -> None:
    asyncio.run(_first_data(url))
    print("ready")


EXTRA_TABLES = 2000
CYCLES = 50
PENDING = 3
DATABASES = ("bench_v7", "bench_v7_2000", "bench_v7_pending")


#: initdb refuses root: as root, the server runs as the user the embedded server uses.
SERVER_USER = "pgserver"


def _as_server_user(workdir: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    shutil.chown(workdir, SERVER_USER)
    return ["runuser", "-u", SERVER_USER, "--"]


def _own_server(pg_bin: Path, workdir: Path) -> str:
    """A throwaway server with pg_stat_statements loaded; returns its superuser DSN."""
    data = workdir / "data"
    as_user = _as_server_user(workdir)
    subprocess.run(
        [*as_user, pg_bin / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = (
        f"-k {workdir} -c listen_addresses='' -c shared_preload_libraries=pg_stat_statements "
        "-c pg_stat_statements.track_planning=on -c pg_stat_statements.track=all"
    )
    ctl: list[str | Path] = [*as_user, pg_bin / "pg_ctl", "-D", data, "-l", workdir / "log", "-w"]
    subprocess.run(
        [*ctl, "-o", options, "start"],
        check=True,
        capture_output=True,
    )
    return f"host={workdir} dbname=postgres user=postgres"


def _stop(pg_bin: Path, workdir: Path) -> None:
    ctl: list[str | Path] = [*_as_server_user(workdir), pg_bin / "pg_ctl"]
    subprocess.run(
        [*ctl, "-D", workdir / "data", "-m", "fast", "stop"],
        check=True,
        capture_output=True,
    )


def _add_tables(target: str, count: int) -> None:
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA extra")
        for i in range(0, count, 100):
            conn.execute(
                "".join(
                    f"CREATE TABLE extra.t{n} (id bigint PRIMARY KEY, a text, b timestamptz);"
                    for n in range(i, min(i + 100, count))
                ).encode()
            )


def _statements(admin: str, database: str) -> list[tuple[int, float, float, str]]:
    """Per statement recorded for ``database``: calls, execution and planning milliseconds,
    and its first words."""
    with psycopg.connect(admin, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT calls, total_exec_time, total_plan_time,"
            " left(regexp_replace(query, '\\s+', ' ', 'g'), 60)"
            " FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s)"
            " ORDER BY total_exec_time + total_plan_time DESC",
            (database,),
        ).fetchall()
    return [(int(c), float(e), float(p), str(q)) for c, e, p, q in rows]


def _cycles(admin: str, target: str, database: str, cycles: int) -> dict[str, float]:
    from gordon_migrate.apply.overview import LiveOverview, live_overview
    from gordon_migrate.core import bundle, dsn

    url, every = dsn.parse(target), bundle.load()

    def cycle(previous: LiveOverview | None) -> LiveOverview:
        return live_overview(url, every, previous, purpose="tui overview", doing="benchmarking")

    previous = cycle(None)  # the first cycle plans; later ones reuse it
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
    walls, connects = [], []
    for _ in range(cycles):
        started = time.perf_counter()
        previous = cycle(previous)
        walls.append(time.perf_counter() - started)
        started = time.perf_counter()
        psycopg.connect(target).close()
        connects.append(time.perf_counter() - started)
    found = _statements(admin, database)
    for calls, exec_ms, plan_ms, query in found:
        print(
            f"  {database}: {calls / cycles:.1f}/cycle  exec {exec_ms / cycles:.2f} ms  "
            f"plan {plan_ms / cycles:.2f} ms  {query}"
        )
    return {
        "statements": sum(c for c, _, _, _ in found) / cycles,
        "server_ms": sum(e + p for _, e, p, _ in found) / cycles,
        "wall_ms": statistics.median(walls) * 1000,
        "connect_ms": statistics.median(connects) * 1000,
    }


def _newest_pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        raise SystemExit("no /usr/lib/postgresql/*/bin: give --pg-bin")
    return found[-1]


def cycle_main(pg_bin: Path, cycles: int) -> None:
    from gordon_migrate.apply import engine
    from gordon_migrate.core import bundle, dsn

    with tempfile.TemporaryDirectory(prefix="gordon-bench-cycle-") as tmp:
        workdir = Path(tmp)
        admin = _own_server(pg_bin, workdir)
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                version = conn.execute("SHOW server_version").fetchone()
                conn.execute("CREATE EXTENSION pg_stat_statements")
                for name in DATABASES:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            rows = []
            for name in DATABASES:
                target = conninfo.make_conninfo(admin, dbname=name)
                every = bundle.load()
                # v7 but its last migrations: the cycle also re-reads who holds conflicting locks.
                applied = every[:-PENDING] if name.endswith("pending") else every
                engine.apply(dsn.parse(target), applied)
                if name.endswith("2000"):
                    _add_tables(target, EXTRA_TABLES)
                rows.append((name, _cycles(admin, target, name, cycles)))
        finally:
            _stop(pg_bin, workdir)
    print(f"PostgreSQL {version[0] if version else '?'}, {cycles} cycles each (after one warm)")
    for name, r in rows:
        print(
            f"{name:<16} {r['statements']:.1f} statements/cycle, server {r['server_ms']:.2f} "
            f"ms/cycle (exec+plan), client wall {r['wall_ms']:.1f} ms/cycle (median, connect "
            f"included), connection set-up {r['connect_ms']:.1f} ms (median)"
        )
    v7 = rows[0][1]
    met = v7["statements"] <= 5 and v7["server_ms"] <= 20
    print(f"target on v7 <= 5 statements and <= 20 ms server time: {'met' if met else 'MISSED'}")


def _summary(label: str, values: list[float]) -> str:
    return (
        f"{label:<13} median {statistics.median(values):.3f} s, worst {max(values):.3f} s "
        f"({len(values)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="superuser DSN of a server to bench on")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cycle", action="store_true", help="cost of one refresh cycle")
    parser.add_argument("--pg-bin", type=Path, help="PostgreSQL binaries for --cycle")
    parser.add_argument("--cycles", type=int, default=CYCLES)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.cycle:
        cycle_main(args.pg_bin or _newest_pg_bin(), args.cycles)
        return
    with tempfile.TemporaryDirectory(prefix="gordon-bench-tui-") as tmp:
        url = _prepare(args.database_url, Path(tmp))
        asyncio.run(_first_data(url))  # warm the server's caches once
        warm = [asyncio.run(_first_data(url)) for _ in range(args.runs)]
        cold = [_cold(url) for _ in range(args.runs)]
        print(_summary("in process", warm))
        print(_summary("cold process", cold))
        worst = max(cold)
        print(
            f"target <= 1.5 s to the first screen with data: {'met' if worst <= 1.5 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()

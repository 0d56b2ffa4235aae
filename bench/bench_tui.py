"""How long until the TUI's first screen shows data, on the full v7 schema (target: <= 1.5 s).

Two figures, each the median and worst of ``--runs`` runs:

- in process: from ``GordonApp`` construction to the Overview holding data (headless
  ``run_test`` at 80x24): Textual start-up, the worker's connection and the overview queries;
- cold process: from spawning ``python`` to the same point, Python and Textual imports included
  (what an operator waits for after typing ``gordon-migrate tui``, minus the terminal).

Usage: ``python bench/bench_tui.py [--database-url URL] [--runs 5]``. Without a URL an embedded
PostgreSQL 18 is started in a temporary directory and a database with every migration applied
is created in it.
"""

from __future__ import annotations

import argparse
import asyncio
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
    from gordon_migrate import bundle, dsn
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
    from gordon_migrate import bundle, dsn, engine

    if url is None:
        from gordon_migrate import embedded

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
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
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

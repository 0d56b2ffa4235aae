"""drift-check benchmarks: run by hand, prints figures (not a test, no assertion on time).

    python bench/bench_drift.py                      # embedded PostgreSQL 18, scratch data dir
    python bench/bench_drift.py --pg-version 16
    python bench/bench_drift.py --database-url postgresql://postgres@host/postgres  # scratch!
    MIGRA=/path/to/venv/bin/migra python bench/bench_drift.py    # or --migra PATH
    python bench/bench_drift.py --baseline /tmp/main   # also time main's drift-check process
                                                       # (git archive main | tar -x -C /tmp/main)

Measures, on the v7 schema (every bundled migration applied):
1. the number of catalog queries of a snapshot (constant: it must not grow with the schema);
2. drift-check wall time in-process as gordon_drift_reader (target <= 0.1 s);
3. the same with 1,000 / 2,500 / 5,000 extra tables carrying table and column grants,
   interleaved with ``migra --with-privileges`` on the same pair of databases, both as whole
   processes (``gordon-migrate drift-check`` against ``migra``): target drift-check >= 3x
   faster at 5,000 tables, growing linearly (ms per 1,000 tables);
4. which out-of-band changes each tool reports;
5. what the checks of PostgreSQL's own objects cost (their queries one after another, an upper
   bound), and with --baseline the v7 drift-check process before and after, interleaved.

migra (PyPI) needs its own virtualenv::

    python3 -m venv /tmp/migra-venv
    /tmp/migra-venv/bin/pip install migra psycopg2-binary
    .venv/bin/python bench/bench_drift.py --migra /tmp/migra-venv/bin/migra

Creates and drops databases ``bench_drift_*``; with --database-url give a scratch server.
Role changes (cluster-wide) are undone after each case.
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from bench_apply import child_env
from psycopg import conninfo, sql

from gordon_migrate.apply import engine
from gordon_migrate.core import bundle, db, dsn
from gordon_migrate.drift import compare, fixtures, run_drift_check, snapshot
from gordon_migrate.drift.model import CHECKS
from gordon_migrate.testing import copy_database_grants

TARGET_V7_S = 0.1
TARGET_RATIO = 3.0
BATCH = 250


@dataclass(frozen=True)
class Server:
    admin_dsn: str

    def dsn(self, database: str, user: str | None = None) -> str:
        extra = {"user": user} if user else {}
        return conninfo.make_conninfo(self.admin_dsn, dbname=database, **extra)

    def execute(self, *statements: str | sql.Composed) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def create(self, name: str, template: str | None = None) -> None:
        self.drop(name)
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        self.execute(query)
        if template:
            with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
                copy_database_grants(conn, template, name)

    def drop(self, name: str) -> None:
        self.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def server_for(args: argparse.Namespace) -> Iterator[Server]:
    if args.database_url:
        yield Server(args.database_url)
        return
    from gordon_migrate.core import embedded

    root = Path(tempfile.mkdtemp(prefix="gordon-bench-drift-"))
    instance = embedded.start(root / "pg", args.pg_version, keep=False)
    try:
        yield Server(instance.admin_dsn)
    finally:
        instance.stop()
        shutil.rmtree(root, ignore_errors=True)


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        out.append(time.perf_counter() - started)
    return out


def figure(samples: Sequence[float]) -> str:
    return f"median {statistics.median(samples):.3f} s (min {min(samples):.3f}, n={len(samples)})"


FIXTURES: list[Path] = []  # fixtures built from this run's fresh database (see main)


def reader_check(server: Server, database: str) -> tuple[bool, int]:
    target = dsn.parse(server.dsn(database, "gordon_drift_reader"))
    report = run_drift_check(target, FIXTURES[0] if FIXTURES else None)
    return report.ok, sum(len(c.differences) for c in report.checks)


def query_count(server: Server, database: str) -> tuple[int, int]:
    """Catalog queries of a snapshot as drift-check takes it (over two connections)."""
    target = dsn.parse(server.dsn(database, "gordon_drift_reader"))

    def connect() -> db.Conn:
        return db.connect(
            target, purpose="bench", read_only=True, options=snapshot.SESSION_SETTINGS
        )

    with connect() as conn:
        snap = snapshot.take(conn, sibling=connect)
    return snap.queries, sum(len(lines) for lines in snap.sections.values())


def add_tables(server: Server, database: str, start: int, stop: int) -> None:
    with psycopg.connect(server.dsn(database), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        for low in range(start, stop, BATCH):
            high = min(low + BATCH, stop)
            conn.execute(
                f"""
                DO $$ BEGIN FOR i IN {low}..{high - 1} LOOP
                  EXECUTE format('CREATE TABLE bench.t_%s (id bigint PRIMARY KEY, v text,
                                  at timestamptz NOT NULL DEFAULT now())', i);
                  EXECUTE format('GRANT SELECT, INSERT ON bench.t_%s TO gordon_api', i);
                  EXECUTE format('GRANT UPDATE (v) ON bench.t_%s TO gordon_api', i);
                END LOOP; END $$
                """
            )


def two_database_compare(server: Server, left: str, right: str) -> int:
    """What migra does: read both databases, diff them (drift-check's core, no fixtures)."""
    snaps = []
    for name in (left, right):
        target = dsn.parse(server.dsn(name, "gordon_drift_reader"))
        with db.connect(
            target, purpose="bench", read_only=True, options=snapshot.SESSION_SETTINGS
        ) as conn:
            snaps.append(snapshot.take(conn))
    return sum(
        len(compare.compare(snaps[0].sections[name], snaps[1].sections[name])) for name, _ in CHECKS
    )


def migra_url(server: Server, database: str) -> str:
    params = conninfo.conninfo_to_dict(server.dsn(database))
    host = str(params.get("host") or "")
    user = str(params.get("user") or "postgres")
    port = f":{params['port']}" if params.get("port") else ""
    password = f":{params['password']}" if params.get("password") else ""
    scheme = "postgresql+psycopg2"  # migra runs on SQLAlchemy; psycopg2 is its driver
    if host.startswith("/"):
        return f"{scheme}://{user}{password}@/{database}?host={host}&port={port[1:] or 5432}"
    return f"{scheme}://{user}{password}@{host}{port}/{database}"


def run_migra(migra: str, server: Server, left: str, right: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [migra, "--unsafe", "--with-privileges", migra_url(server, left), migra_url(server, right)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 2):  # 2: differences found
        return elapsed, f"ERROR: {done.stderr.strip().splitlines()[-1:]}"
    return elapsed, done.stdout


# Out-of-band changes for the detection matrix: (name, SQL, undo SQL run on the admin DSN).
CHANGES: list[tuple[str, str, str]] = [
    ("table added", "CREATE TABLE trading.rogue (id int)", ""),
    (
        "column retyped",
        "ALTER TABLE trading.runs ALTER COLUMN strategy_version TYPE varchar(200)",
        "",
    ),
    ("column default", "ALTER TABLE trading.runs ALTER COLUMN quote_asset SET DEFAULT 'X'", ""),
    ("index dropped", "DROP INDEX trading.bot_leases_worker_id_idx", ""),
    ("constraint dropped", "ALTER TABLE trading.runs DROP CONSTRAINT runs_mode_check", ""),
    (
        "function body",
        "CREATE OR REPLACE FUNCTION trading.risk_state_guard() RETURNS trigger LANGUAGE plpgsql "
        "SET search_path = pg_catalog AS $$ BEGIN RETURN NEW; END $$",
        "",
    ),
    ("trigger disabled", "ALTER TABLE trading.fills DISABLE TRIGGER fills_notify", ""),
    (
        "policy changed",
        "ALTER POLICY bot_leases_read_all ON trading.bot_leases TO gordon_bots",
        "",
    ),
    ("RLS disabled", "ALTER TABLE trading.bot_configs DISABLE ROW LEVEL SECURITY", ""),
    ("owner changed", "ALTER TABLE trading.runs OWNER TO gordon_api", ""),
    ("table GRANT", "GRANT DELETE ON trading.runs TO gordon_api", ""),
    ("table REVOKE", "REVOKE SELECT ON trading.runs FROM gordon_risk", ""),
    ("column GRANT", "GRANT UPDATE (strategy) ON trading.runs TO gordon_trading", ""),
    ("CREATE on schema", "GRANT CREATE ON SCHEMA trading TO gordon_trading", ""),
    (
        "EXECUTE to PUBLIC",
        "GRANT EXECUTE ON FUNCTION trading.risk_state_guard() TO PUBLIC",
        "",
    ),
    (
        "default privileges",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA trading GRANT SELECT ON TABLES TO gordon_api",
        "",
    ),
    ("role SUPERUSER", "ALTER ROLE gordon_api SUPERUSER", "ALTER ROLE gordon_api NOSUPERUSER"),
    ("role BYPASSRLS", "ALTER ROLE gordon_bots BYPASSRLS", "ALTER ROLE gordon_bots NOBYPASSRLS"),
    (
        "new NOTIFY channel",
        "CREATE TRIGGER rogue_notify AFTER INSERT ON trading.runs FOR EACH ROW "
        "EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_rogue', 'run_id')",
        "",
    ),
    # Issue 11: what the first version missed.
    ("database setting", "ALTER DATABASE {db} SET session_replication_role = replica", ""),
    (
        "all roles in database",
        "ALTER ROLE ALL IN DATABASE {db} SET session_replication_role = replica",
        "",
    ),
    ("CREATE on database", "GRANT CREATE ON DATABASE {db} TO gordon_trading", ""),
    ("FK triggers disabled", "ALTER TABLE market_data.candles DISABLE TRIGGER ALL", ""),
    ("grant on history", "GRANT UPDATE ON public._sqlx_migrations TO gordon_trading", ""),
    (
        "pg_ schema",
        "SET allow_system_table_mods = on; CREATE SCHEMA pg_rogue; "
        "CREATE FUNCTION pg_rogue.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "",
    ),
    (
        "event trigger",
        "CREATE FUNCTION trading.rogue_et() RETURNS event_trigger LANGUAGE plpgsql AS "
        "$$ BEGIN END $$; CREATE EVENT TRIGGER rogue_et ON sql_drop "
        "EXECUTE FUNCTION trading.rogue_et()",
        "",
    ),
    ("publication", "CREATE PUBLICATION rogue_pub FOR TABLE trading.fills", ""),
    (
        "operator",
        "CREATE OPERATOR trading.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq)",
        "",
    ),
    ("collation", 'CREATE COLLATION trading.rogue_c FROM "C"', ""),
    (
        "text search config",
        "CREATE TEXT SEARCH CONFIGURATION trading.rogue_ts (COPY = pg_catalog.simple)",
        "",
    ),
]

# Issue 22: what the column map, the built-ins, extension members and cluster roles add.
CHANGES += [
    (
        "pg_notify revoked",
        "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_notify(text, text) FROM PUBLIC",
        "",
    ),
    (
        "built-in replaced",
        "SET allow_system_table_mods = on; CREATE OR REPLACE FUNCTION pg_catalog.timeofday() "
        "RETURNS text LANGUAGE sql AS $$SELECT 'x'::text$$",
        "",
    ),
    (
        "object in pg_catalog",
        "SET allow_system_table_mods = on; CREATE FUNCTION pg_catalog.rogue() RETURNS int "
        "LANGUAGE sql AS 'SELECT 1'",
        "",
    ),
    (
        "extension member",
        "CREATE FUNCTION trading.rogue_x() RETURNS int LANGUAGE sql AS 'SELECT 1'; "
        "ALTER EXTENSION plpgsql ADD FUNCTION trading.rogue_x()",
        "",
    ),
    (
        "role VALID UNTIL",
        "ALTER ROLE gordon_api VALID UNTIL '2000-01-01'",
        "ALTER ROLE gordon_api VALID UNTIL 'infinity'",
    ),
    (
        "pg_read_all_data",
        "CREATE ROLE bench_other; GRANT pg_read_all_data TO bench_other",
        "DROP ROLE bench_other",
    ),
    (
        "index INVALID",
        "UPDATE pg_index SET indisvalid = false "
        "WHERE indexrelid = 'trading.fills_filled_at_idx'::regclass",
        "",
    ),
    ("sequence options", "ALTER SEQUENCE trading.fills_fill_id_seq INCREMENT BY 7", ""),
]

# Routine maintenance that must stay clean (a false alarm would page).
NOT_DRIFT: list[tuple[str, str]] = [
    ("CLUSTER", "CLUSTER trading.fills USING fills_pkey"),
    ("COMMENT", "COMMENT ON TABLE trading.fills IS 'x'"),
    ("SET STATISTICS", "ALTER TABLE trading.fills ALTER COLUMN fill_id SET STATISTICS 500"),
]


def detection_matrix(server: Server, fresh: str, migra: str | None) -> None:
    print("\n## detection of out-of-band changes (drift-check vs migra --with-privileges)")
    print(f"{'change':<22}{'drift-check':>13}{'migra':>8}")
    found = {"drift-check": 0, "migra": 0}
    for name, change, undo in CHANGES:
        target = "bench_drift_case"
        server.create(target, fresh)
        try:
            with psycopg.connect(server.dsn(target), autocommit=True) as conn:
                conn.execute(change.replace("{db}", target).encode())
            # drift-check: the changed database against fixtures of the fresh one (role
            # attributes are cluster-wide: only fixtures can see them change). migra: the
            # fresh database against the changed one.
            detected = not reader_check(server, target)[0]
            migra_says = "n/a"
            if migra:
                _, out = run_migra(migra, server, fresh, target)
                migra_says = "yes" if out.strip() and not out.startswith("ERROR") else "no"
                found["migra"] += migra_says == "yes"
        finally:
            if undo:
                server.execute(undo)
            server.drop(target)
        found["drift-check"] += detected
        print(f"{name:<22}{'yes' if detected else 'NO':>13}{migra_says:>8}")
    print(
        f"detected: drift-check {found['drift-check']}/{len(CHANGES)}, "
        f"migra {found['migra'] if migra else 'n/a'}/{len(CHANGES)}"
    )
    alarms = 0
    for name, change in NOT_DRIFT:
        target = "bench_drift_case"
        server.create(target, fresh)
        try:
            with psycopg.connect(server.dsn(target), autocommit=True) as conn:
                conn.execute(change.encode())
            clean = reader_check(server, target)[0]
        finally:
            server.drop(target)
        alarms += not clean
        print(f"{name:<22}{'clean' if clean else 'FALSE ALARM':>13}")
    print(f"false alarms on routine maintenance: {alarms}/{len(NOT_DRIFT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg-version", type=int, default=18, choices=(18, 16))
    parser.add_argument("--database-url", help="superuser DSN of a scratch server")
    parser.add_argument("--sizes", default="1000,2500,5000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="a source tree of another version (e.g. `git archive main | tar -x -C DIR`): its "
        "drift-check process is timed in the same rounds, for a before/after ratio",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="at the last size: cProfile of the in-process check, and each catalog query "
        "timed alone on the server",
    )
    parser.add_argument(
        "--migra",
        default=os.environ.get("MIGRA") or shutil.which("migra"),
        help="the migra executable (else env MIGRA, else migra on PATH); none: skip migra",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.environ.setdefault("LOG_LEVEL", "warning")
    from gordon_migrate.core import logs

    compile_bytecode(
        Path(bundle.__file__).parent,
        *([Path(args.baseline) / "gordon_migrate"] if args.baseline else []),
    )

    logs.configure("warning", "console")
    with server_for(args) as server:
        fresh = "bench_drift_fresh"
        server.create(fresh)
        try:
            engine.apply(dsn.parse(server.dsn(fresh)), bundle.load())
            committed_current = reader_check(server, fresh)[0]
            scratch = Path(tempfile.mkdtemp(prefix="gordon-bench-fixtures-"))
            fixtures.write(fixtures.build(dsn.parse(server.dsn(fresh)), bundle.load()), scratch)
            FIXTURES.append(scratch)
            with psycopg.connect(server.dsn(fresh)) as conn:
                version = conn.info.server_version
            print(f"# drift-check benchmark, PostgreSQL {version // 10000}.{version % 100}")
            queries, lines = query_count(server, fresh)
            print(f"\n## v7 schema ({lines} snapshot lines)")
            print(f"catalog queries per snapshot: {queries}")
            ok, _ = reader_check(server, fresh)
            samples = timed(lambda: reader_check(server, fresh), args.repeat)
            print(f"drift-check as gordon_drift_reader: {figure(samples)}")
            print(f"fresh database passes (fixtures built from it): {ok}")
            print(f"committed fixtures up to date with the migrations: {committed_current}")
            met = statistics.median(samples) <= TARGET_V7_S
            print(f"target <= {TARGET_V7_S} s: {'met' if met else 'MISSED'}")
            builtins_cost(server, fresh, args.repeat)
            if args.baseline:
                before_after(server, fresh, args)
            scaling(server, fresh, sizes, args)
            detection_matrix(server, fresh, args.migra)
        finally:
            server.drop(fresh)
            for folder in FIXTURES:
                shutil.rmtree(folder, ignore_errors=True)


#: The queries PostgreSQL's own objects, extension members and the column map added (issue 22).
BUILTIN_QUERIES = (
    "BUILTIN_ACLS",
    "SYSTEM_OBJECTS",
    "BUILTIN_FUNCTIONS",
    "EXTENSION_MEMBERS",
    "NOT_NULLS",
    "CATALOG_COLUMNS",
)


def builtins_cost(server: Server, database: str, repeat: int) -> None:
    """What the built-in checks add, as an upper bound: their queries one after another as
    gordon_drift_reader (drift-check pipelines them with the rest), and their Python (the
    lines, the digests, the comparison with the pinned major)."""
    from gordon_migrate.drift import check, queries

    target = dsn.parse(server.dsn(database, "gordon_drift_reader"))
    with db.connect(
        target, purpose="bench", read_only=True, options=snapshot.SESSION_SETTINGS
    ) as conn:

        def run() -> None:
            for name in BUILTIN_QUERIES:
                conn.execute(getattr(queries, name)).fetchall()

        run()
        samples = timed(run, repeat * 4)
        snap = snapshot.take(conn)
    pinned = fixtures.load(FIXTURES[0] if FIXTURES else None)
    python = timed(lambda: check.compare_snapshot(pinned, snap, with_fixes=False), repeat * 4)
    print(
        f"built-in checks, queries one after another: {figure(samples)}; the whole comparison "
        f"(every check, in Python): {figure(python)}"
    )


def before_after(server: Server, database: str, args: argparse.Namespace) -> None:
    """The v7 drift-check process, --baseline's and this one's, interleaved."""
    before: list[float] = []
    after: list[float] = []
    for _ in range(args.repeat * 2):
        before.append(cli_check(server, database, args.baseline))
        after.append(cli_check(server, database))
    print(f"v7 drift-check process, --baseline: {figure(before)}")
    print(f"v7 drift-check process, this tree:  {figure(after)}")


def compile_bytecode(*packages: Path) -> None:
    """Bytecode for the packages timed, as ``pip install`` and the Dockerfile write it
    (``child_env``: this workplace sets PYTHONDONTWRITEBYTECODE, and every run would compile
    the package again, ~0.1 s at 5,000 tables that a deploy never pays)."""
    for package in packages:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(package)],
            check=True,
            capture_output=True,
            env=child_env(),
        )


def cli_check(server: Server, database: str, source: str | None = None) -> float:
    """``gordon-migrate drift-check`` as a whole process, as cron runs it (exit 1: drift);
    ``source``: the package of that source tree instead of this one (``--baseline``)."""
    started = time.perf_counter()
    # Another tree runs as a module from its own directory (its console script may differ).
    head = [GORDON_MIGRATE] if source is None else [sys.executable, "-m", "gordon_migrate.cli"]
    command = [*head, "drift-check", "--database-url"]
    command.append(server.dsn(database, "gordon_drift_reader"))
    if FIXTURES:
        command += ["--fixtures-dir", str(FIXTURES[0])]
    env = child_env() | ({} if source is None else {"PYTHONPATH": source})
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=900, env=env, cwd=source
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1) or "drift-check of database" not in done.stdout:
        raise SystemExit(f"drift-check failed: {done.stderr.strip()[-300:]}")
    return elapsed


_OWN_VENV = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "gordon-migrate"
# A worktree without its own virtualenv runs the shared one's console script, with this tree
# first on PYTHONPATH (inherited by the child).
GORDON_MIGRATE = str(
    _OWN_VENV if _OWN_VENV.exists() else Path(sys.executable).parent / "gordon-migrate"
)


def scaling(server: Server, fresh: str, sizes: list[int], args: argparse.Namespace) -> None:
    print("\n## extra tables, each with a table grant and a column grant (it is drift)")
    print(
        "(one interleaved run: each round runs the --baseline process if any, the drift-check"
        " process, migra, then drift-check in-process; medians of --repeat rounds; ms/1k"
        " tables: in-process, over the v7 run)"
    )
    print(
        f"{'tables':>7}{'lines':>9}{'queries':>9}{'in-process s':>14}{'ms/1k':>7}"
        f"{'process s':>11}{'migra s':>9}{'ratio':>7}"
        + (f"{'baseline s':>12}{'ratio':>7}" if args.baseline else "")
    )
    big = "bench_drift_big"
    server.create(big, fresh)
    ratio = 0.0
    try:
        base = statistics.median(timed(lambda: reader_check(server, fresh), args.repeat))
        have = 0
        for size in sizes:
            add_tables(server, big, have, size)
            have = size
            queries, lines = query_count(server, big)
            inproc: list[float] = []
            process: list[float] = []
            migra: list[float] = []
            baseline: list[float] = []
            for _ in range(args.repeat):
                if args.baseline:
                    baseline.append(cli_check(server, big, args.baseline))
                process.append(cli_check(server, big))
                if args.migra:
                    migra.append(run_migra(args.migra, server, fresh, big)[0])
                inproc += timed(lambda: reader_check(server, big), 1)
            median = statistics.median(inproc)
            per_k = (median - base) / (size / 1000) * 1000
            process_s = statistics.median(process)
            migra_s = f"{statistics.median(migra):.2f}" if migra else "n/a"
            ratio = statistics.median(migra) / process_s if migra else 0.0
            before = ""
            if baseline:
                base_s = statistics.median(baseline)
                base_ratio = statistics.median(migra) / base_s if migra else 0.0
                before = f"{base_s:>12.3f}{(f'{base_ratio:.1f}x' if migra else 'n/a'):>7}"
            print(
                f"{size:>7}{lines:>9}{queries:>9}{median:>14.3f}{per_k:>7.0f}"
                f"{process_s:>11.3f}{migra_s:>9}{(f'{ratio:.1f}x' if migra else 'n/a'):>7}" + before
            )
        if args.profile:
            profile(server, big, args.repeat)
        if args.migra:
            verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
            print(
                f"target drift-check >= {TARGET_RATIO}x faster than migra at {sizes[-1]}: {verdict}"
            )
    finally:
        server.drop(big)


def profile(server: Server, database: str, repeat: int) -> None:
    """Where an in-process check of ``database`` goes: the Python (cProfile, by own time) and
    the server (each catalog query of the snapshot alone, as gordon_drift_reader, in one
    transaction as drift-check reads them; the snapshot pipelines them over one or two
    connections, so their sum is an upper bound of the server's share)."""
    import cProfile
    import io
    import pstats

    from gordon_migrate.drift import queries

    profiler = cProfile.Profile()
    profiler.enable()
    reader_check(server, database)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(15)
    print(f"\n## profile at {database}: Python, by own time (one in-process check)")
    print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))
    target = dsn.parse(server.dsn(database, "gordon_drift_reader"))
    names = {text: name for name, text in vars(queries).items() if isinstance(text, str)}
    with db.connect(
        target, purpose="bench", read_only=True, options=snapshot.SESSION_SETTINGS
    ) as conn:
        version = conn.info.server_version
        timings: list[tuple[float, str, int]] = []
        with conn.transaction():
            conn.execute(
                "SELECT set_config(%s, '{}', true)", (queries.UNREADABLE_SETTING,)
            ).fetchone()
            for batch in snapshot._pipeline(version):
                for text, _ in batch:
                    rows = 0

                    def run(text: str = text) -> None:
                        nonlocal rows
                        rows = len(conn.execute(text).fetchall())

                    timings.append((statistics.median(timed(run, repeat)), names[text], rows))
    total = sum(t for t, _, _ in timings)
    print(f"\n## profile at {database}: each catalog query alone (medians of {repeat}), server")
    print(f"sum {total * 1000:.0f} ms over {len(timings)} queries; the slowest:")
    for seconds, name, rows in sorted(timings, reverse=True)[:10]:
        print(f"  {name:<22}{seconds * 1000:>8.1f} ms {rows:>8} rows")


if __name__ == "__main__":
    main()

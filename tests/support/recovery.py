"""Helpers of the recovery tests: databases at an older version, Gordon rows to keep, the
runbook's symptoms, diagnose as data, and a real terminal for typed confirmations."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from gordon_migrate.apply import engine
from gordon_migrate.core import bundle, dsn
from gordon_migrate.core.bundle import Migration
from gordon_migrate.recovery import runbook
from gordon_migrate.testing import GordonDatabase, TestServer, unique_name
from tests.support.cli import CliResult, CliRunner

BUNDLE = bundle.load()
RUNBOOK = runbook.load()
MIGRATIONS_DIR = bundle.bundled_dir()


def migrations_up_to(version: int) -> list[Migration]:
    return [m for m in BUNDLE if m.version <= version]


def copy_bundle(root: Path, up_to: int | None = None) -> Path:
    """The bundled migration files (up to a version) copied into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for migration in BUNDLE:
        if up_to is None or migration.version <= up_to:
            (root / migration.filename).write_bytes(migration.data)
    return root


# --- databases at an older version of the bundle ------------------------------------------


@dataclass
class Templates:
    """Template databases with the bundle applied up to a version, made once per session."""

    server: TestServer
    made: dict[int, str] = field(default_factory=dict)

    def at(self, version: int) -> str:
        if version not in self.made:
            name = unique_name(f"gordon_template_v{version}")
            self.server.create_database(name)
            engine.apply(dsn.parse(self.server.dsn_for(name)), migrations_up_to(version))
            self.made[version] = name
        return self.made[version]


def templates(server: TestServer) -> Iterator[Templates]:
    made = Templates(server)
    try:
        yield made
    finally:
        for name in made.made.values():
            server.drop_database(name)


DatabaseAt = Callable[[int], GordonDatabase]


def databases_at(server: TestServer, made: Templates) -> Iterator[DatabaseAt]:
    """A factory of fresh databases migrated up to a version (dropped after the test)."""
    names: list[str] = []

    def make(version: int) -> GordonDatabase:
        name = unique_name("gordon_test")
        server.create_database(name, made.at(version))
        names.append(name)
        return GordonDatabase(name=name, dsn=server.dsn_for(name), server=server)

    try:
        yield make
    finally:
        for name in names:
            server.drop_database(name)


# --- rows in the Gordon tables ------------------------------------------------------------

SEED = (
    """
    INSERT INTO market_data.instruments
        (venue, symbol, kind, base_asset, quote_asset, tick_size, lot_size)
    VALUES ('binance', 'BTCUSDT', 'spot', 'BTC', 'USDT', 0.01, 0.00001),
           ('binance', 'ETHUSDT', 'spot', 'ETH', 'USDT', 0.01, 0.0001)
    """,
    """
    INSERT INTO market_data.candles (instrument_id, timeframe, open_time, close_time,
                                     open, high, low, close, volume, quote_volume, trade_count)
    SELECT instrument_id, '1m', '2026-05-01 00:00+00', '2026-05-01 00:01+00',
           100, 110, 90, 105, 3, 315, 12
    FROM market_data.instruments
    """,
    """
    INSERT INTO trading.runs (strategy, strategy_version, mode, quote_asset, initial_equity)
    VALUES ('mean_reversion', '1.4.2', 'backtest', 'USDT', 10000),
           ('breakout', '2.0.0', 'backtest', 'USDT', 5000)
    """,
)

_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'public'
  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
ORDER BY 1
"""

Rows = dict[str, list[dict[str, Any]]]


def seed_rows(db_dsn: str) -> None:
    """A few rows in Gordon tables (market data and trading), as a live database has."""
    with psycopg.connect(db_dsn) as conn:
        for statement in SEED:
            conn.execute(statement)


def gordon_rows(db_dsn: str) -> Rows:
    """Every row of every Gordon table (the history and audit tables are not Gordon's)."""
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        tables = [str(r[0]) for r in conn.execute(_TABLES).fetchall()]
        out: Rows = {}
        for table in tables:
            query = sql.SQL("SELECT to_jsonb(t) FROM {} t").format(sql.SQL(table))
            rows = [dict(r[0]) for r in conn.execute(query).fetchall()]
            out[table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    return out


def assert_rows_kept(before: Rows, after: Rows) -> None:
    """No data lost: every row there before is still there with every column it had
    unchanged (columns or rows a migration added since may have appeared)."""
    assert sum(len(rows) for rows in before.values()) >= 6, "seed rows first"
    for table, rows in before.items():
        if not rows:
            continue
        assert table in after, f"table {table} is gone"
        for row in rows:
            projected = [
                json.dumps({k: r.get(k) for k in row}, sort_keys=True) for r in after[table]
            ]
            wanted = json.dumps(row, sort_keys=True)
            assert wanted in projected, f"row lost or changed in {table}: {wanted}"


# --- the runbook and diagnose -------------------------------------------------------------


def assert_symptom(fm_id: str, text: str) -> None:
    """``text`` (what the tool printed) carries the symptom the runbook quotes for ``fm_id``."""
    mode = RUNBOOK.failure_mode(fm_id)
    assert mode.fragments, f"{fm_id} quotes no symptom"
    assert mode.matches(text), f"{fm_id} symptom {mode.fragments} not in: {text}"


def failure_text(result: CliResult) -> str:
    """What a failed run shows the operator: the error line, or drift-check's report."""
    lines = result.err.strip().splitlines()
    last = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    if last.get("level") == "error":
        return str(last["event"])
    return result.out


def diagnose_json(cli: CliRunner, *args: str) -> dict[str, Any]:
    result = cli("diagnose", "--format", "json", *args)
    payload: dict[str, Any] = json.loads(result.out)
    assert result.code == (0 if payload["ok"] else 1), result.err
    return payload


def step(payload: dict[str, Any], probe: str) -> dict[str, Any]:
    return next(s for s in payload["steps"] if s["probe"] == probe)


# --- a real terminal ----------------------------------------------------------------------


@dataclass(frozen=True)
class TerminalRun:
    code: int
    out: str
    err: str


def run_on_terminal(*args: str, typed: str, env: dict[str, str] | None = None) -> TerminalRun:
    """Run the CLI with a pseudo-terminal as stdin and type ``typed`` once it prompts."""
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CI"}}
    full_env.update(env or {})
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gordon_migrate.cli", "--log-format", "json", *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        text=True,
    )
    os.close(slave)
    try:
        os.write(master, f"{typed}\n".encode())
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    os.read(master, 4096)  # the terminal's echo: drained so it never blocks
                except OSError:
                    break
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    return TerminalRun(code=proc.returncode, out=out, err=err)

"""What a lock will cost: the predicted hold time of a statement that rewrites or scans a table
under a lock that blocks the Gordon services.

The model is linear in bytes: a rewrite writes the table anew, its indexes included, so it is
sized by heap + indexes + TOAST (``pg_total_relation_size``); a full scan (validation, a NOT
NULL check) reads the heap and, for a checked column kept out of line, its TOAST, so it is
sized by heap + TOAST; an index build (a non-concurrent ``CREATE INDEX``, a constraint that
makes one) reads the same bytes but also sorts the keys and writes the index, 3-9x a scan's
time per byte in ``bench/bench_rehearse.py``, so it has a throughput of its own. The
throughput of each is measured by the tool on a scratch server (``measure``) and pinned beside
the lock plan (``fixtures/throughput.json``, ``gordon-migrate rehearse --measure-throughput``),
never a constant in the code.

The scratch is not the production host: its disk, its cache, its load and its write-ahead log
settings differ, and a table read cold from disk is slower than one in the page cache. So a
prediction is a range, ``LOW``..``HIGH`` times the central estimate; the gate compares the
central estimate with the budget.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gordon_migrate.core.bundle import bundled_path
from gordon_migrate.core.errors import ConfigError
from gordon_migrate.rehearse.model import strength

if TYPE_CHECKING:
    # A type only: lint (the LONG_LOCK waiver, ``blocking``) imports this module without a
    # server, and so without psycopg.
    from gordon_migrate.core.db import Conn

FILE = "throughput.json"
KIND = "gordon-migrate measured throughput"

#: The waiver of the gate, on the statement: ``-- gordon:allow long-lock <reason>``.
LONG_LOCK = "long-lock"
#: The header directive that sets a migration's budget: ``-- gordon:lock-hold-budget 30s``.
BUDGET_DIRECTIVE = "lock-hold-budget"
DEFAULT_BUDGET_MS = 1000

#: The range printed around the central estimate (README "Lock-hold budget": a cold cache or a
#: slower disk than the scratch's is the common error, a faster host the rarer one).
LOW = 0.5
HIGH = 2.0

#: The weakest mode that blocks the services' writes (SHARE); ACCESS EXCLUSIVE blocks reads too.
BLOCKING_FROM = strength("SHARE")

Work = Literal["rewrite", "scan", "build"]


@dataclass(frozen=True)
class Throughput:
    """Bytes per second a rewrite and a full scan went through on a scratch server."""

    rewrite_bps: float
    scan_bps: float
    server_major: int
    measured_at: str
    """ISO 8601, UTC."""
    build_bps: float | None = None
    """Heap bytes per second an index build went through; None in a file measured before
    builds were (then a build is predicted as a scan, too short: measure again)."""

    def of(self, work: Work) -> float:
        if work == "rewrite":
            return self.rewrite_bps
        if work == "build" and self.build_bps is not None:
            return self.build_bps
        return self.scan_bps


@dataclass(frozen=True)
class Prediction:
    """How long ``work`` on ``size_bytes`` should hold its lock: seconds, central and range."""

    work: Work
    size_bytes: int
    central_s: float
    low_s: float
    high_s: float

    def over(self, budget_ms: int) -> bool:
        return self.central_s * 1000 > budget_ms

    @property
    def shown(self) -> str:
        """``0.3 s..1.2 s (central 0.6 s)``."""
        return (
            f"{format_seconds(self.low_s)}..{format_seconds(self.high_s)} "
            f"(central {format_seconds(self.central_s)})"
        )


def blocking(mode: str) -> bool:
    """True for a mode that blocks the services' writes (SHARE) or reads (ACCESS EXCLUSIVE)."""
    return strength(mode) >= BLOCKING_FROM


def sized(work: Work, heap: int, indexes: int, toast: int) -> int:
    """The bytes ``work`` goes through (a build is sized as the scan it starts with): see the
    module's docstring."""
    return heap + toast + (indexes if work == "rewrite" else 0)


def predict(work: Work, size_bytes: int, throughput: Throughput) -> Prediction:
    central = size_bytes / throughput.of(work)
    return Prediction(
        work=work,
        size_bytes=size_bytes,
        central_s=central,
        low_s=central * LOW,
        high_s=central * HIGH,
    )


def format_bytes(n: int) -> str:
    """``512 B``, ``48 kB``, ``12.5 MB``, ``3.1 GB`` (powers of 1024, as PostgreSQL's
    ``pg_size_pretty``)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_seconds(s: float) -> str:
    """``40 ms``, ``1.5 s``, ``12 s``, ``3.2 min``, ``1.4 h``: two significant figures at most."""
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 10:
        return f"{s:.1f} s"
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


# -- the pinned measurement ----------------------------------------------------------------


def default_path() -> Path:
    return bundled_path("fixtures") / FILE


def load(path: Path | None = None) -> Throughput | None:
    """The pinned throughput (default: the bundled one); None when none was measured."""
    where = path if path is not None else default_path()
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the measured throughput {where}: {exc.strerror}") from None
    try:
        data = json.loads(text)
        if data.get("fixture") != KIND:
            raise ValueError(f"not a {KIND}")
        build = data.get("build_bytes_per_s")
        return Throughput(
            rewrite_bps=float(data["rewrite_bytes_per_s"]),
            scan_bps=float(data["scan_bytes_per_s"]),
            server_major=int(data["server_major"]),
            measured_at=str(data["measured_at"]),
            build_bps=None if build is None else float(build),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"{where} is not a measured throughput ({exc}): measure it again with "
            "`gordon-migrate rehearse --measure-throughput`"
        ) from None


def render(throughput: Throughput) -> str:
    data: dict[str, object] = {
        "fixture": KIND,
        "generated_by": "gordon-migrate rehearse --measure-throughput (do not edit)",
        "rewrite_bytes_per_s": round(throughput.rewrite_bps),
        "scan_bytes_per_s": round(throughput.scan_bps),
    }
    if throughput.build_bps is not None:
        data["build_bytes_per_s"] = round(throughput.build_bps)
    data["server_major"] = throughput.server_major
    data["measured_at"] = throughput.measured_at
    return json.dumps(data, indent=1) + "\n"


#: The measuring table: rows of a Gordon-like width (trading.fills': a bigint key, an account,
#: a timestamp, a numeric amount, a short text), at least this many of them, and more where
#: the server's ``shared_buffers`` is larger: a probe that fits in the server's own cache
#: reads memory, where a production table of the size that matters is read through the
#: operating system (a ~33 MB probe measured scans 2-3x faster than a 1.4 GB table of the
#: same rows, ``bench/README.md``).
MEASURE_ROWS = 400_000
#: The probe's heap is this many times ``shared_buffers``.
_PROBE_OVER_BUFFERS = 1.5
#: Heap bytes of one probe row (PostgreSQL 15-18: 88-92): only to size the probe.
_PROBE_ROW_BYTES = 90
_MEASURE_TABLE = "gordon_throughput_probe"
#: Scans and index builds timed per measurement (the slowest of each is kept, as of the two
#: rewrites).
SCANS = 3
BUILDS = 2


def probe_rows(conn: Conn, least: int = MEASURE_ROWS) -> int:
    """How many probe rows make a heap larger than the server's ``shared_buffers``."""
    row = conn.execute(
        "SELECT setting::bigint * current_setting('block_size')::bigint FROM pg_settings "
        "WHERE name = 'shared_buffers'"
    ).fetchone()
    buffers = int(row[0]) if row is not None else 0
    return max(least, round(buffers * _PROBE_OVER_BUFFERS / _PROBE_ROW_BYTES))


def measure(conn: Conn, server_major: int, rows: int | None = None) -> Throughput:
    """Time a full scan (``VALIDATE CONSTRAINT`` of a check on the numeric amount: a check
    costs per row, and a numeric comparison is the common one in Gordon), a rewrite (``ALTER
    COLUMN ... TYPE``, there and back) and an index build (``CREATE INDEX`` on the timestamp),
    each the slowest of a few runs, of a table of
    ``rows`` rows (default: ``probe_rows``) on ``conn``: a scratch database, where it
    creates and drops that table."""
    table = _MEASURE_TABLE
    count = probe_rows(conn) if rows is None else rows
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        f"CREATE TABLE {table} (id int PRIMARY KEY, account int NOT NULL, "
        "at timestamptz NOT NULL, qty numeric(18, 8) NOT NULL, note text)"
    )
    conn.execute(
        f"INSERT INTO {table} SELECT g, g %% 5000, now() - g * interval '1 s', (g %% 997) + 0.5, "
        "md5(g::text) FROM generate_series(1, %s) g",
        (count,),
    )
    conn.execute(f"VACUUM ANALYZE {table}")
    scan_bytes = _size(conn, table, "pg_table_size")
    # Each moves with the machine's load: the slowest of a few is pinned, an under-prediction
    # being the unsafe side of the gate.
    scans = []
    for _ in range(SCANS):
        conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT positive CHECK (qty > 0) NOT VALID")
        scans.append(_timed(conn, f"ALTER TABLE {table} VALIDATE CONSTRAINT positive"))
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT positive")
    scan_s = max(scans)
    rewrite_bytes = _size(conn, table, "pg_total_relation_size")
    # There and back: two rewrites of the same bytes.
    rewrite_s = max(
        _timed(conn, f"ALTER TABLE {table} ALTER COLUMN id TYPE bigint"),
        _timed(conn, f"ALTER TABLE {table} ALTER COLUMN id TYPE int"),
    )
    build_bytes = _size(conn, table, "pg_table_size")
    builds = []
    for _ in range(BUILDS):
        builds.append(_timed(conn, f"CREATE INDEX {table}_at ON {table} (at)"))
        conn.execute(f"DROP INDEX {table}_at")
    build_s = max(builds)
    conn.execute(f"DROP TABLE {table}")
    return Throughput(
        rewrite_bps=rewrite_bytes / rewrite_s,
        scan_bps=scan_bytes / scan_s,
        server_major=server_major,
        measured_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        build_bps=build_bytes / build_s,
    )


def _size(conn: Conn, table: str, function: str) -> int:
    row = conn.execute(f"SELECT {function}(%s::regclass)", (table,)).fetchone()
    assert row is not None
    return int(row[0])


def _timed(conn: Conn, statement: str) -> float:
    started = time.perf_counter()
    conn.execute(statement)
    return max(time.perf_counter() - started, 1e-6)

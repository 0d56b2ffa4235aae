"""Benchmarks of ``rehearse`` and of the lock-hold model (run by hand:
``.venv/bin/python bench/bench_rehearse.py``).

1. ``rehearse``: one interleaved run (the order rotates every round), whole processes of
   ``gordon-migrate rehearse --format json``:
   - *cold*: the 38 bundled migrations from empty on a throwaway embedded server, started (and
     initdb'd) by the process itself, as a CI job or an operator's first run pays it;
   - *warm*: the same with ``--scratch-url`` naming an embedded server that is already running
     (the process creates, rehearses in and drops a scratch database there);
   - *one pending, warm* / *cold*: a target with the first 37 applied, ``--database-url``
     TARGET, so 37 are replayed unmeasured and one is measured;
   plus the warm rehearsal in-process (no interpreter start, no import), to split the process's
   fixed cost from the rehearsal's own. Targets: cold <= 2 s, warm <= 0.5 s. A cold run copies
   the pristine cluster of the user's cache (``GORDON_CACHE_DIR``), made by the untimed first
   round. ``--baseline DIR`` (a ``git archive`` of an earlier commit) adds every case run with
   that tree's package instead (``PYTHONPATH=DIR``), in the same rotation: before and after
   in one run.
2. ``predict``: the lock-hold model's error. A table grown to 1, 4 and 16 million rows on an
   embedded server (disk, stock settings); per size, statements that hold a blocking lock across
   a rewrite or a full scan, each run in a transaction that is rolled back (the table stays as it
   was for the next one); the measured duration against the prediction the deploy path makes
   (``lint.live.read_live`` sizes, ``cost.sized``, ``cost.predict`` with the pinned
   ``fixtures/throughput.json``), and against the same model fed with a throughput measured on
   this server in this run (``cost.measure``): the first is the error an operator sees, the
   second the model's own.

``--runs N`` rounds and ``--baseline DIR`` (rehearse); ``--sizes 1,4,16`` millions of rows and
``--repeat N`` (predict); ``--only rehearse,predict``. Nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from bench_apply import child_env, fresh, start_server, stop_server

from gordon_migrate.apply import engine
from gordon_migrate.core import bundle, dsn, embedded, logs
from gordon_migrate.rehearse import cost

# --- rehearse -------------------------------------------------------------------------------


def rehearse_process(*args: str, tree: str | None = None) -> None:
    argv = [sys.executable, "-m", "gordon_migrate.cli", "rehearse", "--format", "json", *args]
    env = child_env()
    if tree is not None:
        env["PYTHONPATH"] = tree
    # cwd: ``-m`` puts the working directory first on the path, before PYTHONPATH.
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tree, check=False)
    if done.returncode != 0:
        raise SystemExit(f"rehearse {' '.join(args)} exited {done.returncode}:\n{done.stderr}")


@dataclass
class Case:
    name: str
    args: tuple[str, ...]
    target: str
    seconds: list[float] = field(default_factory=list)
    tree: str | None = None
    """The package's tree (``PYTHONPATH``): None for this one."""


def bench_rehearse(runs: int, baseline: Path | None) -> None:
    from gordon_migrate.rehearse.run import rehearse

    migrations = bundle.load()
    server = start_server("disk", 18)
    try:
        target = fresh(server, "bench_target_37")
        engine.apply(dsn.parse(target), migrations[:-1])
        scratch_url = embedded.as_url(server.admin_dsn)
        target_url = embedded.as_url(target)
        cases = [
            Case("cold: 38 from empty, embedded server started", (), "<= 2 s"),
            Case("warm: 38 from empty, --scratch-url", ("--scratch-url", scratch_url), "<= 0.5 s"),
            Case(
                "cold: 1 pending of 38 (37 replayed)",
                ("--database-url", target_url),
                "",
            ),
            Case(
                "warm: 1 pending of 38 (37 replayed)",
                ("--database-url", target_url, "--scratch-url", scratch_url),
                "",
            ),
        ]
        if baseline is not None:
            before = [Case(f"{c.name} [baseline]", c.args, "", tree=str(baseline)) for c in cases]
            cases = [c for pair in zip(cases, before, strict=True) for c in pair]
        in_process: list[float] = []
        in_process_one: list[float] = []
        scratch = dsn.parse(server.admin_dsn)
        for case in cases:  # untimed: page cache, bytecode caches, the embedded binaries
            rehearse_process(*case.args, tree=case.tree)
        for i in range(runs):
            order = cases[i % len(cases) :] + cases[: i % len(cases)]
            for case in order:
                started = time.perf_counter()
                rehearse_process(*case.args, tree=case.tree)
                case.seconds.append(time.perf_counter() - started)
            started = time.perf_counter()
            rehearse(migrations, scratch_server=scratch)
            in_process.append(time.perf_counter() - started)
            started = time.perf_counter()
            rehearse(migrations, target=dsn.parse(target), scratch_server=scratch)
            in_process_one.append(time.perf_counter() - started)
        print(f"gordon-migrate rehearse --format json, whole processes, median of {runs}:")
        for case in cases:
            print(
                f"  {case.name:59s} {_ms(case.seconds):8.0f} ms {_span(case.seconds):>14s}"
                f"   {('target ' + case.target) if case.target else ''}"
            )
        print(f"  {'in-process: warm, 38 from empty':59s} {_ms(in_process):8.0f} ms")
        print(f"  {'in-process: warm, 1 pending (37 replayed)':59s} {_ms(in_process_one):8.0f} ms")
    finally:
        stop_server(server)


# --- predict --------------------------------------------------------------------------------

TABLE = "public.bench_hold"

# A Gordon-like row (trading.fills' width: keys, a timestamp, an amount, a short text), with a
# secondary index, so that a rewrite has indexes to rebuild.
CREATE = f"""
CREATE TABLE {TABLE} (
    id bigint PRIMARY KEY,
    account int NOT NULL,
    at timestamptz NOT NULL,
    qty numeric(18, 8) NOT NULL,
    note text
);
CREATE INDEX bench_hold_account_at ON {TABLE} (account, at);
"""

GROW = f"""
INSERT INTO {TABLE}
SELECT g, g %% 5000, timestamptz '2026-01-01' + g * interval '1 s', (g %% 997) + 0.5,
       md5(g::text)
FROM generate_series(%s, %s) g
"""


@dataclass(frozen=True)
class HoldCase:
    label: str
    work: cost.Work
    do: str
    undo: str
    """Puts the table back as it was; a rewrite's undo is a rewrite too, so it is timed too."""


CASES = (
    HoldCase(
        "rewrite: ALTER COLUMN account TYPE bigint",
        "rewrite",
        f"ALTER TABLE {TABLE} ALTER COLUMN account TYPE bigint",
        f"ALTER TABLE {TABLE} ALTER COLUMN account TYPE int",
    ),
    HoldCase(
        "scan: ADD CONSTRAINT CHECK (qty > 0)",
        "scan",
        f"ALTER TABLE {TABLE} ADD CONSTRAINT qty_positive CHECK (qty > 0)",
        f"ALTER TABLE {TABLE} DROP CONSTRAINT qty_positive",
    ),
    HoldCase(
        "scan: ALTER COLUMN note SET NOT NULL",
        "scan",
        f"ALTER TABLE {TABLE} ALTER COLUMN note SET NOT NULL",
        f"ALTER TABLE {TABLE} ALTER COLUMN note DROP NOT NULL",
    ),
    HoldCase(
        "build: CREATE INDEX ON (at), not concurrent",
        "build",
        f"CREATE INDEX bench_hold_at ON {TABLE} (at)",
        "DROP INDEX public.bench_hold_at",
    ),
)


def held_for(conn: psycopg.Connection[tuple[object, ...]], statement: str) -> float:
    """Seconds the statement's lock is held: from its start to the end of its commit (a
    rewrite's new files and WAL are flushed there)."""
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(statement)
    return time.perf_counter() - started


def hold_samples(
    conn: psycopg.Connection[tuple[object, ...]], case: HoldCase, repeat: int
) -> list[tuple[int, float]]:
    """(bytes the model sizes the work by, seconds held), ``repeat`` times."""
    from gordon_migrate.lint.live import read_live

    out = []
    for _ in range(repeat):
        for statement in (case.do, case.undo) if case.work == "rewrite" else (case.do,):
            size = read_live(conn).sizes[TABLE]
            sized = cost.sized(case.work, size.bytes, size.indexes, size.toast)
            out.append((sized, held_for(conn, statement)))
        if case.work != "rewrite":
            conn.execute(case.undo)
    return out


def bench_predict(sizes: Sequence[int], repeat: int) -> None:
    from gordon_migrate.lint.live import read_live

    pinned = cost.load()
    if pinned is None:
        raise SystemExit("no fixtures/throughput.json: nothing to compare with")
    server = start_server("disk", 18)
    try:
        target = fresh(server, "bench_predict")
        with psycopg.connect(target, autocommit=True) as conn:
            # The probe is small (~40 MB): one measurement moves with the load, so take three.
            probes = [cost.measure(conn, 18) for _ in range(3)]
            local = cost.Throughput(
                rewrite_bps=statistics.median(t.rewrite_bps for t in probes),
                scan_bps=statistics.median(t.scan_bps for t in probes),
                server_major=18,
                measured_at=probes[0].measured_at,
                build_bps=statistics.median(t.build_bps or 0 for t in probes) or None,
            )
            print(
                f"throughput: pinned ({pinned.measured_at}) rewrite "
                f"{cost.format_bytes(round(pinned.rewrite_bps))}/s, scan "
                f"{cost.format_bytes(round(pinned.scan_bps))}/s, build {_bps(pinned.build_bps)}; "
                "this run rewrite "
                f"{cost.format_bytes(round(local.rewrite_bps))}/s, scan "
                f"{cost.format_bytes(round(local.scan_bps))}/s, build {_bps(local.build_bps)}"
            )
            conn.execute(CREATE)
            rows = 0
            for millions in sizes:
                started = time.perf_counter()
                conn.execute(GROW, (rows + 1, millions * 1_000_000))
                rows = millions * 1_000_000
                conn.execute(f"VACUUM ANALYZE {TABLE}")
                grown = time.perf_counter() - started
                size = read_live(conn).sizes[TABLE]
                print(
                    f"{millions}M rows (grown in {grown:.0f} s): heap "
                    f"{cost.format_bytes(size.bytes)}, indexes {cost.format_bytes(size.indexes)}, "
                    f"TOAST {cost.format_bytes(size.toast)}"
                )
                for case in CASES:
                    samples = hold_samples(conn, case, repeat)
                    measured = statistics.median(s for _, s in samples)
                    sized = round(statistics.median(b for b, _ in samples))
                    p = cost.predict(case.work, sized, pinned).central_s
                    q = cost.predict(case.work, sized, local).central_s
                    print(
                        f"  {case.label:44s} {cost.format_bytes(sized):>8s} measured "
                        f"{measured:7.2f} s ({len(samples)}) predicted {p:7.2f} s "
                        f"({p / measured:5.2f}x); with this run's throughput {q:7.2f} s "
                        f"({q / measured:5.2f}x)",
                        flush=True,
                    )
    finally:
        stop_server(server)


# --- main -----------------------------------------------------------------------------------


def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _bps(value: float | None) -> str:
    return "-" if value is None else f"{cost.format_bytes(round(value))}/s"


def _span(samples: list[float]) -> str:
    return f"({min(samples) * 1000:.0f}-{max(samples) * 1000:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--sizes", default="1,4,16")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="rehearse,predict")
    parser.add_argument("--baseline", type=Path, default=None)
    args = parser.parse_args()
    sections = set(args.only.split(","))
    logs.configure("warning", "json")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(bundle.__file__).parent)],
        check=True,
        env=child_env(),
        capture_output=True,
    )
    print(
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
        f"Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    if "rehearse" in sections:
        bench_rehearse(args.runs, args.baseline)
    if "predict" in sections:
        bench_predict([int(s) for s in args.sizes.split(",")], args.repeat)
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

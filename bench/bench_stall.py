"""Stall benchmark (run by hand: ``.venv/bin/python bench/bench_stall.py [-- APPLY OPTIONS]``).

A database at every bundled migration but the last, and one more pending migration that needs
ACCESS EXCLUSIVE on a hot table (``ALTER TABLE trading.order_intents ADD COLUMN ...``). A
report transaction holds ACCESS SHARE on that table for ``--report-s`` seconds (BEGIN; SELECT
...; the client sleeps; COMMIT) while ``--readers`` threads run short SELECTs on it in a loop,
each query timed. ``gordon-migrate apply`` starts (a child process) ``--apply-after`` seconds
into the report. Every reader queues behind the apply's waiting ACCESS EXCLUSIVE request, so
the readers' worst latency is the stall a deploy inflicts on the order path.

Reports the readers' p50/p99/worst latency and the queries over 200 ms, and the apply's exit
code, wall time and lock retries. Targets (issue 9): worst <= 200 ms, apply exit 0. Anything
after ``--`` goes to apply (``-- --lock-timeout 100ms``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from bench_apply import BIN, child_env, fresh, start_server, stop_server

from gordon_migrate.apply import engine
from gordon_migrate.core import bundle, dsn, logs

TABLE = "trading.order_intents"
PROBE = "0039_order_intents_stall_probe.sql"
QUERY = f"SELECT count(*) FROM {TABLE}"


@dataclass
class Readers:
    """Reader threads: (offset from the report's start, latency) of every query, in seconds."""

    target: str
    count: int
    pause_s: float
    origin: float = 0.0
    samples: list[tuple[float, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for i in range(self.count):
            conn = psycopg.connect(
                self.target, autocommit=True, application_name=f"bench-reader-{i}"
            )
            thread = threading.Thread(target=self._loop, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _loop(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        with conn:
            while not self.stop.is_set():
                start = time.perf_counter()
                conn.execute(QUERY).fetchone()
                latency = time.perf_counter() - start
                with self.lock:
                    self.samples.append((start - self.origin, latency))
                time.sleep(self.pause_s)

    def finish(self) -> list[tuple[float, float]]:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        return self.samples


def hold_report(target: str, seconds: float, started: threading.Event, ended: list[float]) -> None:
    """The long report: ACCESS SHARE on the table for ``seconds``, then COMMIT."""
    with psycopg.connect(target, application_name="bench-report") as conn:
        conn.execute(QUERY).fetchone()  # opens the transaction and takes ACCESS SHARE
        started.set()
        time.sleep(seconds)
        conn.commit()
        ended.append(time.perf_counter())


@dataclass(frozen=True)
class ApplyRun:
    code: int
    wall_s: float
    started_at_s: float  # from the report's start
    stderr: str


def run_apply(target: str, migrations_dir: Path, extra: list[str], origin: float) -> ApplyRun:
    argv = [
        str(BIN / "gordon-migrate"),
        "apply",
        "--database-url",
        target,
        "--migrations-dir",
        str(migrations_dir),
        "--log-format",
        "json",
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=child_env(), check=False)
    return ApplyRun(
        code=done.returncode,
        wall_s=time.perf_counter() - start,
        started_at_s=start - origin,
        stderr=done.stderr,
    )


def retries(stderr: str) -> list[str]:
    """The apply's warning events (lock retries) from its JSON log lines."""
    events = []
    for line in stderr.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and event.get("level") == "warning":
            events.append(str(event.get("event")))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", choices=["disk", "ram"], default="disk")
    parser.add_argument("--pg", type=int, choices=[18, 16], default=18)
    parser.add_argument("--report-s", type=float, default=20.0, help="report duration")
    parser.add_argument("--apply-after", type=float, default=1.0, help="apply start, s")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--reader-pause-ms", type=float, default=10.0)
    parser.add_argument("--tail-s", type=float, default=1.0, help="readers run on after")
    parser.add_argument("apply_args", nargs=argparse.REMAINDER, help="-- then apply options")
    args = parser.parse_args()
    extra = args.apply_args[1:] if args.apply_args[:1] == ["--"] else args.apply_args
    logs.configure("warning", "json")

    server = start_server(args.storage, args.pg)
    scratch = Path(tempfile.mkdtemp(prefix="gordon-bench-stall-"))
    try:
        target = fresh(server, "bench_stall")
        migrations = bundle.load()
        engine.apply(dsn.parse(target), migrations[:-1])
        for m in migrations:
            shutil.copy(m.path, scratch / m.filename)
        (scratch / PROBE).write_text(
            f"-- issue 9 stall benchmark: needs ACCESS EXCLUSIVE on a hot table\n"
            f"ALTER TABLE {TABLE} ADD COLUMN stall_probe text;\n",
            encoding="utf-8",
        )

        readers = Readers(target, args.readers, args.reader_pause_ms / 1000)
        readers.origin = time.perf_counter()
        readers.start()
        time.sleep(0.5)  # a baseline before the report
        started = threading.Event()
        ended: list[float] = []
        origin = time.perf_counter()
        readers.origin = origin
        report = threading.Thread(
            target=hold_report, args=(target, args.report_s, started, ended), daemon=True
        )
        report.start()
        if not started.wait(timeout=30):
            raise SystemExit("the report transaction did not start")
        time.sleep(args.apply_after)
        applied = run_apply(target, scratch, extra, origin)
        report.join()
        report_end = ended[0] - origin
        time.sleep(args.tail_s)
        samples = readers.finish()
        with psycopg.connect(target, autocommit=True) as conn:
            added = conn.execute(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attname = 'stall_probe'",
                (TABLE,),
            ).fetchone()
    finally:
        stop_server(server)
        shutil.rmtree(scratch, ignore_errors=True)

    latencies = sorted(s[1] for s in samples)
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 2 else latencies[-1]
    slow = [s for s in samples if s[1] > 0.2]
    worst = sorted(samples, key=lambda s: s[1], reverse=True)[:5]
    print(
        f"PostgreSQL {args.pg} on {args.storage}; report {args.report_s:g} s from t=0, "
        f"apply from t={applied.started_at_s:.1f} s, {args.readers} readers; "
        f"apply options: {' '.join(extra) or '(defaults)'}"
    )
    print(
        f"readers: {len(latencies)} queries, p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, worst {latencies[-1] * 1000:.1f} ms   (target worst <= 200)"
    )
    print(f"  queries over 200 ms: {len(slow)}; worst, (start s, ms):", end="")
    print("".join(f" ({at:.1f}, {lat * 1000:.0f})" for at, lat in worst))
    print(
        f"apply: exit {applied.code}   (target 0), wall {applied.wall_s:.1f} s, "
        f"column added: {'yes' if added and added[0] else 'no'}, report ended at "
        f"t={report_end:.1f} s"
    )
    warnings = retries(applied.stderr)
    print(f"  warnings logged: {len(warnings)}" + (f" ({warnings[0]!r}...)" if warnings else ""))
    if applied.code != 0:
        print(f"  last line: {applied.stderr.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()

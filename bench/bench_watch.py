"""What watching a deploy costs (run: ``.venv/bin/python bench/bench_watch.py``).

Whole ``gordon-migrate apply`` processes, interleaved round by round (the order rotates) on one
embedded server:

1. fresh apply of every bundled migration into an empty database: plain, with
   ``--metrics-file``, and with ``--metrics-file`` and ``--report`` (target: <= 1.05x plain);
2. the no-op on an up-to-date database: plain, with ``--metrics-file`` and ``--report``
   (target: nothing measurable), and traced (``OTEL_EXPORTER_OTLP_ENDPOINT``) to a collector
   that answers (an OTLP/HTTP receiver on 127.0.0.1, in this process), to one that refuses (a
   port nobody listens on) and to one that hangs (accepts, never answers): target, a missing
   collector costs <= 100 ms more than one that answers.

Each run's wall time and its CPU time (user + system of the ``gordon-migrate`` process, from
``wait4``) are reported: on a shared 2-core machine the wall time of a 0.5 s process moves by
tens of ms with the load, its CPU time much less, and a cost like the report's lock plan is
CPU work.

Tracing disabled is the plain run: OpenTelemetry is not imported unless ``OTEL_*`` asks
(``.ci/run`` and ``tests/test_apply_tracing.py`` check the imports).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench_apply import BIN, child_env, drop, fresh, start_server, stop_server

from gordon_migrate.core import bundle


class _Collector(BaseHTTPRequestHandler):
    """Takes every export (an empty OTLP reply is an empty protobuf message)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def run(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Run ``argv`` to its end; its CPU seconds (user + system)."""
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=err, env={**child_env(), **(env or {})}
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            text = err.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(argv[:2])}... exited {child.returncode}:\n{text}")
    return usage.ru_utime + usage.ru_stime


def measured(
    argv: list[str], env: dict[str, str] | None, wall: list[float], cpu: list[float]
) -> None:
    start = time.perf_counter()
    cpu.append(run(argv, env))
    wall.append(time.perf_counter() - start)


def apply_argv(target: str, *extra: str) -> list[str]:
    return [str(BIN / "gordon-migrate"), "apply", "--database-url", target, *extra]


def report(
    title: str, times: dict[str, list[float]], cpu: dict[str, list[float]], runs: int
) -> None:
    base = statistics.median(next(iter(times.values())))
    cpu_base = statistics.median(next(iter(cpu.values())))
    print(f"{title}, whole process, median of {runs} ({time.strftime('%Y-%m-%d %H:%M')}):")
    print(f"  {'':34s} {'wall':>8s}                          {'cpu':>8s}")
    for name, samples in times.items():
        m, c = statistics.median(samples), statistics.median(cpu[name])
        print(
            f"  {name:34s} {m * 1000:8.1f} ms {m / base:5.3f}x {(m - base) * 1000:+7.1f} ms"
            f"   {c * 1000:8.1f} ms {c / cpu_base:5.3f}x {(c - cpu_base) * 1000:+7.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", choices=["disk", "ram"], default="disk")
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(bundle.__file__).parent)],
        check=True,
        capture_output=True,
        env=child_env(),
    )
    out = Path(tempfile.mkdtemp(prefix="gordon-bench-watch-"))
    metrics = ("--metrics-file", str(out / "apply.prom"))
    watched = (*metrics, "--report", str(out / "apply.json"))
    with socket.socket() as hang, socket.socket() as gone:
        hang.bind(("127.0.0.1", 0))
        hang.listen(64)
        gone.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        refused = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{gone.getsockname()[1]}"}
        hanging = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{hang.getsockname()[1]}"}
        collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
        threading.Thread(target=collector.serve_forever, daemon=True).start()
        answers = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_port}"}
        server = start_server(args.storage, 18)
        try:
            fresh_variants: dict[str, tuple[tuple[str, ...], dict[str, str] | None]] = {
                "plain": ((), None),
                "--metrics-file": (metrics, None),
                "--metrics-file --report": (watched, None),
                "traced, collector answers": ((), answers),
            }
            fresh_times: dict[str, list[float]] = {name: [] for name in fresh_variants}
            fresh_cpu: dict[str, list[float]] = {name: [] for name in fresh_variants}
            for extra, env in fresh_variants.values():  # warm
                run(apply_argv(fresh(server, "bench_watch_warm"), *extra), env)
            for i in range(args.runs):
                names = list(fresh_variants)
                for name in names[i % len(names) :] + names[: i % len(names)]:
                    target = fresh(server, "bench_watch_fresh")
                    extra, env = fresh_variants[name]
                    argv = apply_argv(target, *extra)
                    measured(argv, env, fresh_times[name], fresh_cpu[name])
            drop(server, "bench_watch_fresh")
            target = fresh(server, "bench_watch_noop")
            run(apply_argv(target))
            noop_variants: dict[str, tuple[tuple[str, ...], dict[str, str] | None]] = {
                "plain": ((), None),
                "--metrics-file": (metrics, None),
                "--metrics-file --report": (watched, None),
                "traced, collector answers": ((), answers),
                "traced, collector refuses": ((), refused),
                "traced, collector hangs": ((), hanging),
            }
            noop_times: dict[str, list[float]] = {name: [] for name in noop_variants}
            noop_cpu: dict[str, list[float]] = {name: [] for name in noop_variants}
            for extra, env in noop_variants.values():  # warm
                run(apply_argv(target, *extra), env)
            for i in range(args.runs * 2):
                names = list(noop_variants)
                for name in names[i % len(names) :] + names[: i % len(names)]:
                    extra, env = noop_variants[name]
                    argv = apply_argv(target, *extra)
                    measured(argv, env, noop_times[name], noop_cpu[name])
        finally:
            collector.shutdown()
            stop_server(server)
    title = f"fresh apply of {len(bundle.load())} migrations ({args.storage})"
    report(title, fresh_times, fresh_cpu, args.runs)
    report("no-op", noop_times, noop_cpu, args.runs * 2)


if __name__ == "__main__":
    main()

"""Where a no-op ``gordon-migrate apply`` spends its time (run: ``.venv/bin/python
bench/bench_noop.py``).

1. Whole processes, interleaved, on one up-to-date database: the driver floor (``python -c
   "import psycopg; connect; select 1"``), ``gordon-migrate apply``, and the same run with
   ``rich`` hidden from the interpreter (what structlog's optional import of rich costs).
   Target: no-op <= 1.3x the floor.
2. The import bill after ``import psycopg`` (which the floor pays too), module by module in the
   order the CLI imports them, each a median over fresh interpreters.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from bench_apply import BIN, child_env, fresh, start_server, stop_server, timed

from gordon_migrate.apply import engine
from gordon_migrate.core import bundle, dsn, logs

# The CLI's import order: what each adds on top of everything before it.
CHAIN = [
    "click",
    "rich.console, rich.traceback",  # structlog.dev imports these when rich is installed
    "structlog",
    "hashlib",
    "gordon_migrate.cli",
    "gordon_migrate.apply.engine",
    "gordon_migrate.apply.render",
]


def run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, env=child_env())


def import_bill(runs: int) -> list[tuple[str, float]]:
    code = "import time\nimport psycopg\nout = []\n"
    for module in CHAIN:
        code += f"t = time.perf_counter()\nimport {module}\nout.append(time.perf_counter() - t)\n"
    code += "print(' '.join(str(x) for x in out))"
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=child_env(),
        )
        samples.append([float(x) for x in done.stdout.split()])
    return [(m, statistics.median(s[i] for s in samples)) for i, m in enumerate(CHAIN)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", choices=["disk", "ram"], default="disk")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    logs.configure("warning", "json")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(bundle.__file__).parent)],
        check=True,
        capture_output=True,
        env=child_env(),
    )
    server = start_server(args.storage, 18)
    try:
        target = fresh(server, "bench_noop")
        engine.apply(dsn.parse(target), bundle.load())
        floor = "import sys, psycopg; psycopg.connect(sys.argv[1]).execute('select 1')"
        hidden = (
            "import sys; sys.modules['rich'] = None\n"
            "from gordon_migrate.cli import main; main(['apply', '--database-url', sys.argv[1]])"
        )
        variants = {
            "driver floor": [sys.executable, "-c", floor, target],
            "gordon-migrate apply": [
                str(BIN / "gordon-migrate"),
                "apply",
                "--database-url",
                target,
            ],
            "  the same, rich hidden": [sys.executable, "-c", hidden, target],
        }
        for argv in variants.values():
            run(argv)  # warm
        times: dict[str, list[float]] = {name: [] for name in variants}
        for i in range(args.runs):
            names = list(variants)
            for name in names[i % len(names) :] + names[: i % len(names)]:
                times[name].append(timed(partial(run, variants[name])))
    finally:
        stop_server(server)
    base = statistics.median(times["driver floor"])
    print(f"no-op, whole process, median of {args.runs} ({time.strftime('%Y-%m-%d %H:%M')}):")
    for name, samples in times.items():
        m = statistics.median(samples)
        print(f"  {name:26s} {m * 1000:7.1f} ms   {m / base:5.2f}x the floor")
    print("imports after psycopg, in the CLI's order, median of fresh interpreters:")
    for module, seconds in import_bill(args.runs):
        print(f"  {module:34s} {seconds * 1000:6.1f} ms")


if __name__ == "__main__":
    main()

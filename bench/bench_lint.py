"""gordon-migrate lint against squawk: run by hand, prints a markdown report (not a test).

    python3 -m venv /tmp/squawk && /tmp/squawk/bin/pip install squawk-cli   # the peer, kept
    .venv/bin/python bench/bench_lint.py --squawk /tmp/squawk/bin/squawk > /tmp/report.md

(or SQUAWK=/tmp/squawk/bin/squawk; squawk is never installed into the project's venv.)

Both tools lint the bundled migrations and the corpus of tests/lint_corpus (hazardous and safe
migrations against the v7 schema, most from the shapes of real migrations in public projects).
Each corpus file is scored by its ``-- hazard:`` header, the reviewer's judgment independent of
any tool, never by ``-- expect:`` (what gordon-migrate raises today): a hazardous file is caught
when the tool flags it, a safe file is passed when the tool does not. squawk's findings are
split into hazard rules (locks, rewrites, breaking changes) and advice (timeouts that apply
already sets, type preferences, IF NOT EXISTS everywhere); only hazard rules count as a flag.
Timings: each tool as a subprocess over the same files, interleaved, median of N. ``--speed``
lints N generated files statically (no server) and says where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = sorted((ROOT / "migrations").glob("*.sql"))
CORPUS = sorted((ROOT / "tests" / "lint_corpus").glob("*.sql"))

# squawk rule -> the gordon-migrate rule covering the same hazard.
HAZARDS = {
    "require-concurrent-index-creation": "index-not-concurrent",
    "require-concurrent-index-deletion": "index-not-concurrent",
    "constraint-missing-not-valid": "constraint-without-not-valid",
    "adding-foreign-key-constraint": "constraint-without-not-valid",
    "adding-not-nullable-field": "set-not-null-without-check",
    "adding-field-with-default": "add-column-volatile-default",
    "adding-required-field": "add-column-not-null-no-default",
    "adding-serial-primary-key-field": "unique-without-index",
    "disallowed-unique-constraint": "unique-without-index",
    "changing-column-type": "alter-column-type",
    "ban-drop-column": "drop-column",
    "ban-drop-table": "drop-table",
    "renaming-column": "rename-column",
    "renaming-table": "rename-table",
    "require-concurrent-reindex": "reindex-not-concurrent",
    "ban-concurrent-index-creation-in-transaction": "concurrently-in-transaction",
    "transaction-nesting": "transaction-control",
    "ban-drop-constraint": "(none)",
    "ban-drop-not-null": "(none)",
    "ban-truncate-cascade": "truncate",
    "ban-set-schema": "set-schema",
    "ban-drop-function": "(none)",
}
# Equivalent gordon rules (a stored generated column is squawk's adding-field-with-default).
ALSO = {"add-column-volatile-default": {"add-column-stored-generated"}}


# Set by --squawk; else $SQUAWK, then PATH, then beside this interpreter.
SQUAWK: list[str] = []


def squawk_bin() -> str:
    found = (
        (SQUAWK[0] if SQUAWK else "")
        or os.environ.get("SQUAWK", "")
        or shutil.which("squawk")
        or str(Path(sys.executable).parent / "squawk")
    )
    if not Path(found).exists():
        raise SystemExit(
            f"squawk not found at {found}: install squawk-cli into a venv of its own "
            "(python3 -m venv DIR && DIR/bin/pip install squawk-cli), then --squawk DIR/bin/squawk"
        )
    return found


def gordon_bin() -> str:
    return str(Path(sys.executable).parent / "gordon-migrate")


def run_squawk(files: list[Path]) -> dict[str, list[tuple[int, str]]]:
    done = subprocess.run(
        [squawk_bin(), "--pg-version", "16", "--reporter", "json", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for f in json.loads(done.stdout or "[]"):
        out[Path(f["file"]).name].append((int(f["line"]) + 1, str(f["rule_name"])))
    return out


def run_gordon(files: list[Path]) -> dict[str, list[tuple[int, str]]]:
    args = [gordon_bin(), "lint", "--format", "json"]
    if files != MIGRATIONS:
        args += list(map(str, files))
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for f in json.loads(done.stdout)["findings"]:
        if not f["waived"]:
            out[Path(f["file"]).name].append((int(f["line"]), str(f["rule"])))
    return out


def hazard(path: Path) -> str | None:
    """The reviewer's ground truth: the hazard class, or None for a safe change."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- hazard:"):
            value = line.removeprefix("-- hazard:").strip()
            return None if value == "none" else value
    raise SystemExit(f"{path.name} has no -- hazard: header")


def no_transaction(path: Path) -> bool:
    return path.read_bytes().startswith(b"-- no-transaction")


def squawk_hazards(path: Path, findings: list[tuple[int, str]]) -> set[str]:
    rules = {rule for _, rule in findings if rule in HAZARDS}
    if no_transaction(path) and any(rule == "prefer-robust-stmts" for _, rule in findings):
        rules.add("prefer-robust-stmts")
    return rules


def mapped(rule: str) -> set[str]:
    if rule == "prefer-robust-stmts":
        return {"no-transaction-not-rerunnable"}
    target = HAZARDS[rule]
    return {target} | ALSO.get(target, set())


def corpus_table(files: list[Path]) -> tuple[list[str], dict[str, int]]:
    squawk = run_squawk(files)
    gordon = run_gordon(files)
    rows = [
        "| file | hazard (ground truth) | gordon-migrate | squawk hazard rules | squawk advice |",
        "| --- | --- | --- | --- | --- |",
    ]
    stats: defaultdict[str, int] = defaultdict(int)
    for path in files:
        name = path.name
        truth = hazard(path)
        ours = {rule for _, rule in gordon.get(name, [])}
        theirs = squawk_hazards(path, squawk.get(name, []))
        advice = sorted({rule for _, rule in squawk.get(name, [])} - theirs - set(HAZARDS))
        if truth is None:
            stats["safe"] += 1
            stats["safe_passed_gordon"] += not ours
            stats["safe_passed_squawk"] += not theirs
        else:
            stats["hazardous"] += 1
            stats["caught_gordon"] += bool(ours)
            stats["caught_squawk"] += bool(theirs)
            stats["caught_both"] += bool(ours) and bool(theirs)
            stats["caught_neither"] += not ours and not theirs
        # (hazardous, flagged) -> how the tool did on the file, by ground truth.
        mark = {
            (True, False): " **missed**",
            (True, True): "",
            (False, True): " **false alarm**",
            (False, False): "",
        }
        cells = [
            name,
            truth or "none",
            (", ".join(sorted(ours)) or "-") + mark[(truth is not None, bool(ours))],
            (", ".join(sorted(theirs)) or "-") + mark[(truth is not None, bool(theirs))],
            ", ".join(advice) or "-",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows, dict(stats)


def bundle_table(files: list[Path]) -> tuple[list[str], dict[str, int]]:
    squawk = run_squawk(files)
    gordon = run_gordon(files)
    rows = [
        "| file | gordon-migrate (all grandfathered) | squawk hazard rules | squawk advice |",
        "| --- | --- | --- | --- |",
    ]
    stats: defaultdict[str, int] = defaultdict(int)
    for path in files:
        name = path.name
        ours = {rule for _, rule in gordon.get(name, [])}
        theirs = squawk_hazards(path, squawk.get(name, []))
        advice = sorted({rule for _, rule in squawk.get(name, [])} - theirs - set(HAZARDS))
        for rule in theirs:
            if mapped(rule) & ours:
                stats["squawk_hazards_gordon_has_too"] += 1
            else:
                stats["squawk_hazards_gordon_has_not"] += 1
        cells = [
            name,
            ", ".join(sorted(ours)) or "-",
            ", ".join(sorted(theirs)) or "-",
            ", ".join(advice) or "-",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows, dict(stats)


def timings(files: list[Path], repeat: int) -> tuple[float, float]:
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(repeat):
        for runner, sink in ((run_gordon, ours), (run_squawk, theirs)):
            start = time.perf_counter()
            runner(files)
            sink.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(theirs)


def generate(n: int, into: Path) -> list[Path]:
    """N migration files cycling through the corpus shapes, versioned after the bundle."""
    out = []
    for i in range(n):
        source = CORPUS[i % len(CORPUS)]
        path = into / f"{10000 + i}_{source.stem.split('_', 1)[1]}.sql"
        path.write_bytes(source.read_bytes())
        out.append(path)
    return out


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def speed(n: int, repeat: int) -> None:
    """Lint N files statically: the CLI end to end, then in-process where the time goes."""
    from pglast import parse_sql

    from gordon_migrate.core import bundle
    from gordon_migrate.core.bundle import Migration
    from gordon_migrate.lint import lint

    with tempfile.TemporaryDirectory() as tmp:
        files = generate(n, Path(tmp))
        cli = statistics.median(timed(lambda: run_gordon(files)) for _ in range(repeat))
        imports = [sys.executable, "-c", "import gordon_migrate.cli, gordon_migrate.lint.analyze"]
        started = statistics.median(
            timed(lambda: subprocess.run(imports, check=True)) for _ in range(repeat)
        )
        context = bundle.load()
        targets = []
        for path in files:
            version, description = bundle.parse_name(path.name, path.parent)
            targets.append(Migration(version, description, path, path.read_bytes()))
        texts = [m.sql for m in targets]
        total = statistics.median(timed(lambda: lint(targets, context)) for _ in range(repeat))
        replay = statistics.median(timed(lambda: lint([], context)) for _ in range(repeat))
        parse = statistics.median(
            timed(lambda: [parse_sql(text) for text in texts]) for _ in range(repeat)
        )
        # Each new file is linted on its own copy of the replayed catalog (lint/__init__.py
        # _run, Catalog.copy): n copies of the bundle's catalog.
        from gordon_migrate.lint import _run
        from gordon_migrate.lint.analyze import Catalog

        catalog = _run(context[-1:], context, None, None)[0][1].catalog

        def copies_of(catalog: Catalog) -> None:
            for _ in range(n):
                catalog.copy()

        copies = statistics.median(timed(lambda: copies_of(catalog)) for _ in range(repeat))
        rules = max(total - replay - parse - copies, 0.0)
    print(f"## speed: lint of {n} files, statically (no server), median of {repeat}\n")
    print("| | seconds | share of in-process |")
    print("| --- | --- | --- |")
    print(f"| CLI end to end (`gordon-migrate lint --format json FILE...`) | {cli:.2f} | |")
    print(f"| - interpreter start and imports (pglast included) | {started:.2f} | |")
    rest = max(cli - started - total, 0.0)
    print(f"| - the CLI's own work (each FILE matched to the bundle, JSON out) | {rest:.2f} | |")
    print(f"| in-process `lint()` | {total:.2f} | 100% |")
    print(f"| - replay of the bundle (once) | {replay:.2f} | {replay / total:.0%} |")
    print(f"| - pglast parse of the {n} files | {parse:.2f} | {parse / total:.0%} |")
    share = copies / total
    print(f"| - copy of the catalog per file (Catalog.copy) | {copies:.2f} | {share:.0%} |")
    print(f"| - rules and catalog updates (the rest) | {rules:.2f} | {rules / total:.0%} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--squawk", help="the squawk binary (default: $SQUAWK, then PATH)")
    parser.add_argument("--speed", type=int, default=0, metavar="N", help="also lint N files")
    args = parser.parse_args()
    if args.squawk:
        SQUAWK.append(args.squawk)
    version = subprocess.run(
        [squawk_bin(), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"# gordon-migrate lint vs {version}\n")
    for title, files, build in (
        ("corpus (tests/lint_corpus)", CORPUS, corpus_table),
        ("bundle (migrations/)", MIGRATIONS, bundle_table),
    ):
        rows, stats = build(files)
        print(f"## {title}: {len(files)} files\n")
        print("\n".join(rows))
        print()
        for key, value in sorted(stats.items()):
            print(f"- {key}: {value}")
        ours, theirs = timings(files, args.repeat)
        print(
            f"- time (median of {args.repeat}, interleaved, one process each): "
            f"gordon-migrate {ours * 1000:.0f} ms, squawk {theirs * 1000:.0f} ms "
            f"(ratio {ours / theirs:.1f}x)\n"
        )
    if args.speed:
        speed(args.speed, args.repeat)


if __name__ == "__main__":
    main()

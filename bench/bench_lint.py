"""gordon-migrate lint against squawk: run by hand, prints a markdown report (not a test).

    .venv/bin/pip install squawk-cli          # the peer (not a dependency of the project)
    .venv/bin/python bench/bench_lint.py > /tmp/report.md

Both tools lint the bundled migrations and the corpus of tests/lint_corpus (realistic
hazardous and safe migrations against the v7 schema, each with the rule ids it must raise in
its ``-- expect:`` header). squawk's findings are split into hazard rules (locks, rewrites,
breaking changes: mapped to the gordon-migrate rule that covers the same hazard) and advice
(timeouts that apply already sets, type preferences, IF NOT EXISTS everywhere). Timings:
each tool as a subprocess over the same files, interleaved, median of N.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

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
    "ban-truncate-cascade": "(none)",
}
# Equivalent gordon rules (a stored generated column is squawk's adding-field-with-default).
ALSO = {"add-column-volatile-default": {"add-column-stored-generated"}}


def squawk_bin() -> str:
    found = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if not Path(found).exists():
        raise SystemExit("squawk not found: .venv/bin/pip install squawk-cli")
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


def expected(path: Path) -> set[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- expect:"):
            value = line.removeprefix("-- expect:").strip()
            return set() if value == "(none)" else set(value.split())
    return set()


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


def table(files: list[Path], corpus: bool) -> tuple[list[str], dict[str, int]]:
    squawk = run_squawk(files)
    gordon = run_gordon(files)
    rows = [
        "| file | expected | gordon-migrate | squawk hazard rules | squawk advice |"
        if corpus
        else "| file | gordon-migrate (all grandfathered) | squawk hazard rules | squawk advice |",
        "| --- | --- | --- | --- | --- |" if corpus else "| --- | --- | --- | --- |",
    ]
    stats: defaultdict[str, int] = defaultdict(int)
    for path in files:
        name = path.name
        ours = {rule for _, rule in gordon.get(name, [])}
        theirs = squawk_hazards(path, squawk.get(name, []))
        advice = sorted({rule for _, rule in squawk.get(name, [])} - theirs - set(HAZARDS))
        want = expected(path) if corpus else set()
        for rule in theirs:
            real = mapped(rule) & want if corpus else mapped(rule) & ours
            if real:
                stats["squawk_real_hazards"] += 1
                stats["caught_by_gordon_too"] += bool(real & ours)
            else:
                stats["squawk_false_positives"] += 1
        if corpus:
            stats["gordon_false_positives"] += len(ours - want)
            stats["gordon_missed"] += len(want - ours)
            stats["contract_only_gordon"] += len(
                ours
                & {
                    "grant-decision-missing",
                    "security-definer",
                    "function-search-path",
                    "notify-channel",
                    "grant-to-public",
                }
            )
            if not want:
                stats["safe_files"] += 1
                stats["safe_files_squawk_flags"] += bool(theirs)
                stats["safe_files_gordon_flags"] += bool(ours)
        cells = [
            name,
            *([", ".join(sorted(want)) or "-"] if corpus else []),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    version = subprocess.run(
        [squawk_bin(), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"# gordon-migrate lint vs {version}\n")
    for title, files, corpus in (
        ("corpus (tests/lint_corpus)", CORPUS, True),
        ("bundle (migrations/)", MIGRATIONS, False),
    ):
        rows, stats = table(files, corpus)
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


if __name__ == "__main__":
    main()

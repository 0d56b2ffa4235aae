"""Writes tests/support/drift_provoked.py from a measurement of every case of
tests/test_drift_completeness.py (tests/data/drift_provoked.measured.json), byte for byte.

The measurement needs a server; it is a test that runs only when asked, once per major (it
merges into the JSON, keeping the other major's)::

    export GORDON_MEASURE_PROVOKED=1
    pytest -q tests/test_drift_provoked.py -k measure
    GORDON_TEST_PG_VERSION=16 pytest -q tests/test_drift_provoked.py -k measure
    python -m tests.support.gen_drift_provoked        # writes drift_provoked.py

A case provokes a row when it runs on every major measured where the row exists and the digest
of that catalog column's values changes there; each row gets the case that changes the fewest
rows in all (summed over the majors), the first in the cases' order on a tie.
tests/test_drift_provoked.py checks that the file is what this writes.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from gordon_migrate.drift.catalogs import COLUMNS

ROOT = Path(__file__).resolve().parent.parent
MEASURED = ROOT / "data" / "drift_provoked.measured.json"
OUTPUT = Path(__file__).resolve().parent / "drift_provoked.py"

HEADER = '''"""Which case of tests/test_drift_completeness.py provokes each row of the column map
(drift/catalogs.py) that drift-check compares: the case checks, when it runs, that the
column's values changed (a row added or removed counts: an unexpected object provokes every
column of its catalog). Chosen from a measurement of every case on PostgreSQL 16 and 18:
the case that changes the fewest other rows."""

from __future__ import annotations

PROVOKED: dict[str, str] = {
'''

#: Rows compared that no case can change, and why (written as is).
UNPROVOKED: dict[str, str] = {
    "pg_database.datallowconn": (
        "ALTER DATABASE ... ALLOW_CONNECTIONS false shuts every session out, the "
        "superuser's and drift-check's too: nothing is left to check"
    ),
}

_UNPROVOKED_TEXT = """
#: Rows compared that no case can change, and why.
UNPROVOKED: dict[str, str] = {
    "pg_database.datallowconn": (
        "ALTER DATABASE ... ALLOW_CONNECTIONS false shuts every session out, the "
        "superuser's and drift-check's too: nothing is left to check"
    ),
}
"""


def compared() -> list[str]:
    """The rows of the column map drift-check compares."""
    return sorted(
        f"{catalog}.{column}"
        for catalog, columns in COLUMNS.items()
        for column, decision in columns.items()
        if decision.startswith("compared: ")
    )


@dataclass(frozen=True)
class Major:
    """One major's measurement: the compared rows it has, and what each case changed."""

    rows: tuple[str, ...]
    changed: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Measurement:
    cases: tuple[str, ...]
    """Every case, in the order of CASES (a tie goes to the first)."""
    majors: dict[str, Major]


def load(path: Path = MEASURED) -> Measurement:
    if not path.exists():
        return Measurement((), {})
    data = json.loads(path.read_text(encoding="utf-8"))
    return Measurement(
        tuple(str(case) for case in data["cases"]),
        {
            str(major): Major(
                tuple(str(row) for row in found["rows"]),
                {str(c): tuple(str(r) for r in rows) for c, rows in found["changed"].items()},
            )
            for major, found in data["majors"].items()
        },
    )


def save(data: Measurement, path: Path = MEASURED) -> None:
    payload = {
        "cases": list(data.cases),
        "majors": {
            major: {"rows": list(m.rows), "changed": {c: list(r) for c, r in m.changed.items()}}
            for major, m in sorted(data.majors.items())
        },
    }
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


def choose(data: Measurement) -> dict[str, str]:
    """row -> the case that provokes it, changing the fewest rows (see the module)."""
    size: dict[str, int] = {}
    seen: dict[str, set[str]] = {}  # row -> cases that changed it somewhere
    # row -> cases that left it unchanged, or did not run, on a major where it exists: the
    # case must check the row on every major (one that cannot run on 16 checks nothing there)
    missed: dict[str, set[str]] = {}
    for measured in data.majors.values():
        for case in data.cases:
            found = measured.changed.get(case)
            if found is not None:
                size[case] = size.get(case, 0) + len(found)
            changed = set(found or ())
            for row in measured.rows:
                gone = found is None or row not in changed
                (missed if gone else seen).setdefault(row, set()).add(case)
    order = {case: i for i, case in enumerate(data.cases)}
    out: dict[str, str] = {}
    for row in compared():
        candidates = seen.get(row, set()) - missed.get(row, set())
        if candidates and row not in UNPROVOKED:
            out[row] = min(candidates, key=lambda case: (size[case], order[case]))
    return out


def _entry(row: str, case: str) -> str:
    line = f"    {json.dumps(row)}: {json.dumps(case)},"
    if len(line) <= 100:
        return line + "\n"
    return f"    {json.dumps(row)}: (\n        {json.dumps(case)}\n    ),\n"


def render(data: Measurement) -> str:
    chosen = choose(data)
    body = "".join(_entry(row, chosen[row]) for row in sorted(chosen))
    return HEADER + body + "}\n" + _UNPROVOKED_TEXT


def main() -> None:
    OUTPUT.write_text(render(load()), encoding="utf-8")
    print(f"wrote {OUTPUT}", file=sys.stderr)


if __name__ == "__main__":
    main()

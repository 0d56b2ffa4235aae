"""drift-check results as text (people) and JSON (machines).

JSON structure (``drift-check --format json``)::

    {
      "ok": false,                        # every check passed
      "database": "gordon",
      "target": "postgresql://gordon_drift_reader:***@db:5432/gordon",
      "role": "gordon_drift_reader",      # the role drift-check connected as
      "server_version": "18.4",
      "duration_s": 0.182,
      "fixtures": "/usr/lib/.../gordon_migrate/_bundle/fixtures",
      "schema_checksum": {"expected": "<sha256 pinned>", "actual": "<sha256 of live schema>"},
      "warnings": [],                     # e.g. the connected role could write
      "unchecked": [],                    # what could not be checked at all (exit 1)
      "checks": [                         # always the five, in this order
        {"name": "schema", "title": "schema checksum", "ok": true, "differences": []},
        {"name": "grants", "title": "grant matrix", "ok": false, "differences": [
          {"object": "grant on table trading.orders to gordon_api",
           "kind": "unexpected",          # missing | unexpected | changed
           "expected": null,              # definition in the fixtures (null: absent)
           "actual": "privileges: SELECT",# definition in the database (null: absent)
           "diff": null,                  # unified diff when a definition spans lines
           "detail": null,                # explanation (e.g. a NOTIFY channel not static)
           "fix": "REVOKE ...;",          # SQL restoring the pinned state, or null when that
                                          # would lose data or needs the migration itself
           "fix_note": null,              # what to do by hand (when fix is null or partial)
           "members": []}                 # the parts missing or unexpected with a missing or
                                          # unexpected relation (its columns, indexes...), not
                                          # differences of their own
        ]},
        {"name": "column_grants", "title": "column grant matrix", ...},
        {"name": "notify", "title": "NOTIFY allowlist", ...},
        {"name": "builtins", "title": "PostgreSQL's own objects", ...}
      ]
    }

When the database cannot be checked at all the output is ``{"ok": false, "error": {"kind":
..., "message": ...}}`` (exit 1), like every other command.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from gordon_migrate.core.dsn import Dsn
from gordon_migrate.drift.grant_matrix import EMPTY, Cell, Matrix
from gordon_migrate.drift.kinds import parse_key, parse_privileges, split_last
from gordon_migrate.drift.model import CheckResult, Difference, DriftReport

ABSENT = "(absent)"


def report_json(report: DriftReport, target: Dsn) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "database": report.database,
        "target": target.redacted,
        "role": report.user,
        "server_version": report.server_version,
        "duration_s": round(report.duration_s, 3),
        "fixtures": report.fixtures_dir,
        "schema_checksum": {
            "expected": report.expected_checksum,
            "actual": report.actual_checksum,
        },
        "warnings": list(report.warnings),
        "unchecked": list(report.unchecked),
        "checks": [_check_json(c) for c in report.checks],
    }


def _check_json(check: CheckResult) -> dict[str, Any]:
    return {
        "name": check.name,
        "title": check.title,
        "ok": check.ok,
        "differences": [
            {
                "object": d.object,
                "kind": d.kind,
                "expected": d.expected,
                "actual": d.actual,
                "diff": d.diff,
                "detail": d.detail,
                "fix": d.fix,
                "fix_note": d.fix_note,
                "members": list(d.members),
            }
            for d in check.differences
        ],
    }


def fix_script(report: DriftReport) -> str:
    """``drift-check --fix-sql``: every restorable difference as SQL, the rest as comments."""
    from gordon_migrate.drift import fix

    fixes = [
        (d.object, d.kind, fix.Fix(d.fix, d.fix_note))
        for check in report.checks
        for d in check.differences
    ]
    return fix.script(fixes, report.database)


def report_text(report: DriftReport, target: Dsn) -> str:
    """Each check passed or failed, then every difference, grouped by check."""
    total = sum(len(c.differences) for c in report.checks)
    lines = [
        f"drift-check of database {report.database} on PostgreSQL {report.server_version} "
        f"as {report.user} ({target.redacted}), {report.duration_s:.2f}s",
        f"fixtures: {report.fixtures_dir}",
    ]
    width = max(len(c.title) for c in report.checks)
    for check in report.checks:
        if check.ok:
            lines.append(f"  ok    {check.title}")
        else:
            count = len(check.differences)
            lines.append(f"  FAIL  {check.title:<{width}}  {count} difference{'s' * (count != 1)}")
    same = report.expected_checksum == report.actual_checksum
    lines.append(
        f"schema checksum: expected {report.expected_checksum}, actual {report.actual_checksum}"
        + ("" if same else "  MISMATCH")
    )
    lines += [f"warning: {w}" for w in report.warnings]
    lines += [f"CANNOT CHECK: {u}" for u in report.unchecked]
    if report.ok:
        lines.append("no drift: the database is exactly what the migrations built")
        return "\n".join(lines)
    if total:
        lines.append(f"DRIFT: {total} difference{'s' * (total != 1)}")
    else:
        lines.append("NOT CLEAN: part of the database could not be checked (above)")
    for check in report.checks:
        if check.ok:
            continue
        lines += ["", f"{check.title}:"]
        lines += map(_difference_text, check.differences)
    return "\n".join(lines)


def _difference_text(d: Difference) -> str:
    """One difference, on several lines."""
    head = f"  {d.kind:<10}  {d.object}"
    if d.detail:
        head += f"\n      {d.detail}"
    if d.diff:
        return head + "\n      " + d.diff.replace("\n", "\n      ")
    text = f"{head}\n{_side('expected', d.expected)}\n{_side('actual', d.actual)}"
    if d.members:
        text += f"\n      {'with it:':<10}{members_text(d.members)}"
    return text


def members_text(members: Iterable[str]) -> str:
    """``column trading.t.a``, ``index trading.t_pkey`` -> ``column a, index t_pkey``: the
    parts of one relation, by kind and their own name."""
    out = []
    for member in members:
        kind, name = parse_key(member)
        out.append(f"{kind} {split_last(name)[1]}")
    return ", ".join(out)


# The start of every line that is not empty: a multi-line definition is indented in one
# pass in C (tens of thousands of them when every extra table is drift).
_LINE_START = re.compile(r"^(?=.)", re.MULTILINE)
_HEADS = {label: f"      {label + ':':<10}" for label in ("expected", "actual")}


def _side(label: str, definition: str | None) -> str:
    head = _HEADS[label]
    if definition is None:
        return f"{head}{ABSENT}"
    if "\n" not in definition:
        return f"{head}{definition}"
    return head.rstrip() + "\n" + _LINE_START.sub("          ", definition)


# --- the grant matrix -------------------------------------------------------------------

# Privilege names to the letters of ``aclitem`` (what psql's \dp shows).
LETTERS = {
    "SELECT": "r",
    "INSERT": "a",
    "UPDATE": "w",
    "DELETE": "d",
    "TRUNCATE": "D",
    "REFERENCES": "x",
    "TRIGGER": "t",
    "MAINTAIN": "m",
    "EXECUTE": "X",
    "USAGE": "U",
    "CREATE": "C",
    "CONNECT": "c",
    "TEMPORARY": "T",
    "TEMP": "T",
}
LETTER_ORDER = "arwdDxtmXUCcT"


def letters(privileges: str | None) -> str:
    """``INSERT, SELECT`` -> ``ar``; ``ALL`` stays ``ALL``; ``*`` after a grantable one, ``+``
    when granted by another role than the owner (as drift-check writes them). ``-`` for none."""
    if privileges is None:
        return "-"
    parts = parse_privileges(privileges)
    if not parts:  # an emptied default ACL: ``none for anyone``
        return privileges
    out = []
    for names, grantable, grantor in parts:
        if names == ("ALL",):
            word = "ALL"
        elif all(n in LETTERS for n in names):
            word = "".join(sorted({LETTERS[n] for n in names}, key=LETTER_ORDER.index))
        else:
            word = ", ".join(names)
        out.append(word + ("*" if grantable else "") + ("+" if grantor else ""))
    return "/".join(out)


#: What the cells of a grant matrix mean (CLI help, the TUI's Grants screen): every letter.
LEGEND = (
    "  ".join(f"{letter} {name}" for name, letter in LETTERS.items() if name != "TEMP")
    + "  * grantable  + granted by another role  - none"
)


def short_role(role: str) -> str:
    """Column headers: ``gordon_api`` -> ``api`` (every runtime role has the prefix)."""
    return {"<database owner>": "db owner", "<migrator>": "migrator"}.get(
        role, role.removeprefix("gordon_")
    )


def cell_text(cell: Cell) -> str:
    """A cell as text: the actual privileges, and ``!expected`` after a mismatch."""
    shown = letters(cell.actual)
    return shown if cell.ok else f"{shown}!{letters(cell.expected)}"


def matrix_text(matrix: Matrix, *, mismatches_only: bool = False) -> str:
    """The matrix as a plain table (objects down, roles across), for the CLI."""
    rows = [o for o in matrix.objects if not (mismatches_only and matrix.row_ok(o))]
    if not rows:
        return "  (no rows)" if not mismatches_only else "  (no mismatching rows)"
    headers = [short_role(r) for r in matrix.roles]
    body = [[cell_text(matrix.cell(o, r)) for r in matrix.roles] for o in rows]
    widths = [max(len(h), *(len(line[i]) for line in body)) for i, h in enumerate(headers)]
    first = max(len("OBJECT"), *(len(o) for o in rows))
    out = [
        "  ".join(
            ["OBJECT".ljust(first), *(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
        ).rstrip()
    ]
    for obj, line in zip(rows, body, strict=True):
        cells = (c.ljust(w) for c, w in zip(line, widths, strict=True))
        marker = "" if matrix.row_ok(obj) else "  <-"
        out.append("  ".join([obj.ljust(first), *cells]).rstrip() + marker)
    return "\n".join(out)


def matrix_json(matrix: Matrix) -> dict[str, object]:
    """The matrix as data: every cell with its expected and actual privileges."""
    return {
        "roles": list(matrix.roles),
        "ok": matrix.ok,
        "rows": [
            {
                "object": obj,
                "ok": matrix.row_ok(obj),
                "cells": {
                    role: {
                        "expected": matrix.cell(obj, role).expected,
                        "actual": matrix.cell(obj, role).actual,
                    }
                    for role in matrix.roles
                    if matrix.cell(obj, role) != EMPTY
                },
            }
            for obj in matrix.objects
        ],
    }

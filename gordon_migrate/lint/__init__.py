"""``gordon-migrate lint``: lock hazards and Gordon contract breaks, before a migration ships.

The public API, importable without pglast (the parser is loaded only when there is work):
``lint`` (findings), ``refuse_hazards`` (``apply``'s gate), ``lock_plan`` (``apply --dry-run``
and the TUI). Everything returned is a plain dataclass of ``gordon_migrate.lint.model``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gordon_migrate.core.bundle import Migration, bundled_path
from gordon_migrate.core.errors import LintError
from gordon_migrate.lint.model import Finding, LintReport, LockPlan, MigrationPlan

if TYPE_CHECKING:
    from gordon_migrate.core.db import Conn
    from gordon_migrate.lint.analyze import FileLinter
    from gordon_migrate.lint.model import LiveInfo, Rehearsed

#: What a rehearsal measured, by migration (version, checksum hex): the facts of the rules
#: that read them (``apply.resolve.rehearsed_facts``).
Measured = Mapping[tuple[int, str], "Rehearsed"]

__all__ = [
    "Finding",
    "LintReport",
    "LockPlan",
    "lint",
    "lock_plan",
    "planned_relations",
    "refuse_hazards",
]


def allowlist_path(fixtures_dir: Path | None = None) -> Path:
    return (fixtures_dir or bundled_path("fixtures")) / "notify_allowlist.txt"


def _run(
    targets: Sequence[Migration],
    context: Sequence[Migration],
    live: LiveInfo | None,
    fixtures_dir: Path | None,
    labels: dict[Path, str] | None = None,
    rehearsed: Measured | None = None,
) -> list[tuple[Migration, FileLinter]]:
    """Replay ``context`` in version order, linting each target in its place; a target that is
    not a file of ``context`` is linted on its own after the whole of it. ``rehearsed``: what a
    rehearsal measured of the targets that have it."""
    from gordon_migrate.lint.analyze import Catalog, FileLinter, load_allowlist

    allow = load_allowlist(allowlist_path(fixtures_dir))
    in_context = {m.path.resolve() for m in context}
    # Only a file named as one of the bundle's can be one: the others' paths are not resolved
    # (a thousand FILE arguments: ~0.1 s of system calls).
    bundled_names = {m.path.name for m in context}
    resolved = [
        (m, m.path.resolve() if m.path.name in bundled_names else None)
        for m in sorted(targets, key=lambda m: m.version)
    ]
    target_paths = {path for _, path in resolved if path is not None}
    names = labels or {}
    measured = rehearsed or {}
    catalog = Catalog()
    out: list[tuple[Migration, FileLinter]] = []
    for m in sorted(context, key=lambda m: m.version):
        target = m.path.resolve() in target_paths
        facts = measured.get((m.version, m.checksum.hex())) if target else None
        linter = FileLinter(m, catalog, live, allow, names.get(m.path), facts)
        linter.run()
        if target:
            out.append((m, linter))
    for m, path in resolved:
        if path is not None and path in in_context:
            continue
        facts = measured.get((m.version, m.checksum.hex()))
        linter = FileLinter(m, catalog.copy(), live, allow, names.get(m.path), facts)
        linter.run()
        out.append((m, linter))
    return out


def lint(
    targets: Sequence[Migration],
    context: Sequence[Migration],
    *,
    live: LiveInfo | None = None,
    baseline: frozenset[tuple[str, str, int, str]] = frozenset(),
    fixtures_dir: Path | None = None,
    labels: dict[Path, str] | None = None,
    rehearsed: Measured | None = None,
) -> LintReport:
    """Findings of ``targets``, knowing what the ``context`` migrations (the bundle) built;
    with ``rehearsed``, the rules over measured facts judge them too."""
    _check_baseline_rules(baseline)
    report = LintReport(live=live is not None)
    for m, linter in _run(targets, context, live, fixtures_dir, labels, rehearsed):
        report.files.append(linter.file)
        sha = m.checksum.hex()
        for finding in linter.findings:
            finding.grandfathered = (m.filename, sha, finding.line, finding.rule) in baseline
            report.findings.append(finding)
    return report


def _check_baseline_rules(keys: frozenset[tuple[str, str, int, str]]) -> None:
    """A baseline line naming no rule would grandfather nothing, silently: refuse it."""
    from gordon_migrate.lint.baseline import REVIEWED
    from gordon_migrate.lint.rules import registry

    rules = registry()
    for name, _sha, line, rule in sorted(keys):
        if rule != REVIEWED and rule not in rules:
            raise LintError(
                f"the lint baseline names an unknown rule {rule!r} ({name}:{line}): regenerate "
                "it with `gordon-migrate lint --write-baseline` and review the diff"
            )


def baseline_rows(
    report: LintReport, migrations: Sequence[Migration]
) -> list[tuple[str, int, int, str, str]]:
    by_label = {m.filename: m for m in migrations}
    return [
        (f.file, f.line, f.col, f.rule, by_label[f.file].checksum.hex())
        for f in report.findings
        if f.file in by_label
    ]


def refuse_hazards(
    pending: Sequence[Migration],
    bundle: Sequence[Migration],
    conn: Conn | None,
    rehearsed: Measured | None = None,
) -> None:
    """``apply``'s gate: raise ``LintError`` naming file, line and rule of the first error-level
    finding of a pending migration that is neither grandfathered nor waived. Read-only; with
    ``conn``, live table sizes decide the severity (a small table's hazard is a warning); with
    ``rehearsed``, what a rehearsal measured is judged too. A file that does not parse is
    left to the server."""
    from gordon_migrate.lint import baseline

    grandfathered = baseline.load()
    done = baseline.reviewed(grandfathered)
    pending = [m for m in pending if (m.filename, m.checksum.hex()) not in done]
    if not pending:
        return  # what production already ran, byte for byte: nothing to parse
    from gordon_migrate.lint.live import read_live

    live = read_live(conn, functions=True) if conn is not None else None
    report = lint(pending, bundle, live=live, baseline=grandfathered, rehearsed=rehearsed)
    # A file pglast cannot parse may use grammar newer than pglast knows: the server judges
    # it, and names the line, as it did before the gate existed.
    failing = [f for f in report.failing if f.rule != "syntax-error"]
    if not failing:
        return
    first = failing[0]
    more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
    path = next((m.path for m in pending if m.filename == first.file), None)
    # Absolute paths: the command works from any directory.
    shown = (
        f"--migrations-dir {shlex.quote(str(path.parent.resolve()))} "
        f"{shlex.quote(str(path.resolve()))}"
        if path is not None
        else first.file
    )
    raise LintError(
        f"migration {first.file} line {first.line}: {first.rule}: {first.message}{more}. "
        f"Nothing was run. Make it safe (`gordon-migrate lint {shown}` shows why and the "
        f"safe rewrite), or waive it on the statement with "
        f"`-- gordon:allow {first.rule} <reason>`"
    )


def lock_plan(
    pending: Sequence[Migration],
    bundle: Sequence[Migration],
    conn: Conn | None,
    rehearsed: Measured | None = None,
) -> LockPlan:
    """Per statement of each pending migration: lock mode, relation, work, what it blocks;
    with ``conn``, the sessions that currently hold conflicting locks on those relations. Also
    the findings for which ``apply`` would refuse (``refusals``), as ``refuse_hazards`` judges
    (``rehearsed`` as it takes it)."""
    plan = LockPlan(live=conn is not None)
    if not pending:
        return plan
    from gordon_migrate.lint import baseline
    from gordon_migrate.lint.live import conflicting_holders, read_live

    live = read_live(conn, functions=True) if conn is not None else None
    grandfathered = baseline.load()
    for m, linter in _run(pending, bundle, live, None, rehearsed=rehearsed):
        sha = m.checksum.hex()
        for finding in linter.findings:
            finding.grandfathered = (m.filename, sha, finding.line, finding.rule) in grandfathered
            if finding.counts and finding.rule != "syntax-error":
                plan.refusals.append(finding)
        plan.migrations.append(
            MigrationPlan(
                file=m.filename, no_transaction=linter.no_transaction, statements=linter.plans
            )
        )
    if conn is not None:
        plan.holders = conflicting_holders(conn, planned_relations(plan.migrations))
    return plan


def planned_relations(migrations: Sequence[MigrationPlan]) -> dict[str, set[str]]:
    """The lock modes ``migrations`` take on relations that exist before them (what another
    session's lock may conflict with)."""
    planned: dict[str, set[str]] = {}
    for migration in migrations:
        for statement in migration.statements:
            for step in statement.steps:
                if not step.new_relation:
                    planned.setdefault(step.relation, set()).add(step.mode)
    return planned

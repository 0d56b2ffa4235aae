"""Results as text (for people) and JSON (for machines); both go to stdout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gordon_migrate.apply.status import MigrationStatus, State

# Types only: the no-op apply renders its result without importing the plan, the overview or
# lint (about 8 ms of imports on the deploy path; bench/bench_noop.py).
if TYPE_CHECKING:
    from collections.abc import Sequence

    from gordon_migrate.apply.engine import ApplyResult
    from gordon_migrate.apply.holds import Hold
    from gordon_migrate.apply.overview import Overview
    from gordon_migrate.apply.plan import ApplyPlan
    from gordon_migrate.apply.resolve import ResolvedPlan
    from gordon_migrate.core.dsn import Dsn
    from gordon_migrate.rehearse.pinned import PinnedStatement

#: What ``status`` (and the TUI) calls each state.
STATE_LABEL: dict[State, str] = {
    "applied": "applied",
    "pending": "pending",
    "failed": "FAILED (dirty)",
    "checksum_mismatch": "CHECKSUM MISMATCH",
    "missing_from_bundle": "NOT IN BUNDLE",
}


def _ms(ns: int | None) -> str:
    return "" if ns is None or ns < 0 else f"{ns / 1e6:.1f} ms"


def apply_text(result: ApplyResult, target: Dsn) -> str:
    head = f"database {result.database} on PostgreSQL {result.server_version} ({target.redacted})"
    if result.dry_run:
        if not result.planned:
            return f"{head}\nup to date: {result.already_applied} applied, nothing pending"
        lines = [f"{head}", f"would apply {len(result.planned)} migration(s):"]
        lines += [
            f"  {m.version:04d}  {m.filename}{'  [no-transaction]' if m.no_transaction else ''}"
            for m in result.planned
        ]
        return "\n".join(lines)
    if result.rehearsal_ms is not None:
        head += (
            f"\nrehearsed the migrations the pinned lock plan lacks first, in "
            f"{result.rehearsal_ms / 1000:.1f} s"
        )
    if not result.applied:
        return f"{head}\nup to date: {result.already_applied} applied, nothing pending"
    lines = [head, f"applied {len(result.applied)} migration(s):"]
    for step in result.applied:
        extra = f"  ({step.attempts} attempts)" if step.attempts > 1 else ""
        lines.append(f"  {step.version:04d}  {step.filename}  {_ms(step.execution_time_ns)}{extra}")
    lines.append(f"now {result.already_applied + len(result.applied)} applied, nothing pending")
    return "\n".join(lines)


def apply_json(result: ApplyResult, target: Dsn) -> dict[str, Any]:
    return {
        "ok": True,
        "target": target.redacted,
        "database": result.database,
        "server_version": result.server_version,
        "dry_run": result.dry_run,
        "already_applied": result.already_applied,
        "lock_waited_s": round(result.lock_waited_s, 3),
        "planned": [_status_json(m) for m in result.planned],
        "applied": [
            {
                "version": s.version,
                "description": s.description,
                "file": s.filename,
                "execution_time_ns": s.execution_time_ns,
                "attempts": s.attempts,
                "no_transaction": s.no_transaction,
            }
            for s in result.applied
        ],
    } | ({} if result.rehearsal_ms is None else {"rehearsal_ms": round(result.rehearsal_ms, 1)})


def status_text(overview: Overview) -> str:
    status = overview.status
    lines = [
        f"database {status.database} on PostgreSQL {status.server_version} at {overview.server}"
        f" as {status.user} ({overview.target})" + ("  [standby]" if status.in_recovery else ""),
        f"{'VERSION':<8}{'STATE':<20}{'INSTALLED ON':<27}{'TIME':>12}  FILE",
    ]
    for m in status.migrations:
        installed = m.installed_on.isoformat(timespec="seconds") if m.installed_on else ""
        lines.append(
            f"{m.version:04d}    {STATE_LABEL[m.state]:<20}{installed:<27}"
            f"{_ms(m.execution_time_ns):>12}  {m.filename or '(' + m.description + ')'}"
        )
    counts = ", ".join(
        f"{status.count(s)} {label.lower()}" for s, label in STATE_LABEL.items() if status.count(s)
    )
    verdict = "consistent" if status.consistent else "INCONSISTENT: apply will refuse to run"
    if (
        not status.consistent
        and len(overview.resume_notes) == len(status.problems)
        and all("resumes it" in note for note in overview.resume_notes.values())
    ):
        verdict = "INCONSISTENT: the next apply resumes it by itself"
    lines.append(f"{counts or 'no migrations'}; history {verdict}")
    lines += [f"  {v:04d}: {note}" for v, note in sorted(overview.resume_notes.items())]
    holder = overview.lock_holder
    lines.append(
        f"migration lock {overview.lock_key}: "
        + (f"held by {holder.describe(with_state=True)}" if holder else "free")
    )
    last = overview.last_apply
    if last is not None and last.installed_on is not None:
        lines.append(
            f"last apply: {last.label} at {last.installed_on.isoformat(timespec='seconds')}"
        )
    return "\n".join(lines)


def _status_json(m: MigrationStatus) -> dict[str, Any]:
    return {
        "version": m.version,
        "description": m.description,
        "file": m.filename,
        "state": m.state,
        "installed_on": m.installed_on.isoformat() if m.installed_on else None,
        "execution_time_ns": m.execution_time_ns,
        "no_transaction": m.no_transaction,
    }


def status_json(overview: Overview) -> dict[str, Any]:
    status = overview.status
    holder = overview.lock_holder
    last = overview.last_apply
    return {
        "ok": status.consistent,
        "target": overview.target,
        "server": overview.server,
        "role": status.user,
        "database": status.database,
        "server_version": status.server_version,
        "in_recovery": status.in_recovery,
        "counts": {s: status.count(s) for s in STATE_LABEL},  # every state, zeros included
        "migrations": [_status_json(m) for m in status.migrations],
        "resume": {f"{v:04d}": note for v, note in sorted(overview.resume_notes.items())},
        "lock": {
            "key": overview.lock_key,
            "holder": None
            if holder is None
            else {
                "pid": holder.pid,
                "application_name": holder.application_name,
                "client": holder.client,
                "user": holder.username,
                "backend_start": holder.backend_start,
                "state": holder.state,
            },
        },
        "last_apply": None if last is None else _status_json(last),
    }


def dry_run_json(plan: ApplyPlan) -> dict[str, Any]:
    """The lock plan of a dry run with pending migrations (none without)."""
    from gordon_migrate.lint import render as lint_render

    if not plan.planned:
        return {}
    out: dict[str, Any] = {"lock_plan": lint_render.plan_json(plan.locks)}
    out |= plans_json(plan.plans)
    if plan.holds:
        out["lock_holds"] = [h.as_dict() for h in plan.holds]
    return out


def dry_run_text(plan: ApplyPlan) -> str:
    """The lock plan of a dry run, after ``apply_text`` (nothing when nothing is pending): lint's
    static plan of the migrations whose plan is guessed only (a measured one is listed with its
    provenance, ``plans_text``), what apply would refuse and who holds conflicting locks."""
    from dataclasses import replace

    from gordon_migrate.lint import render as lint_render

    measured = {p.migration.filename for p in plan.plans if p.provenance.measured}
    guessed = replace(
        plan.locks, migrations=[m for m in plan.locks.migrations if m.file not in measured]
    )
    if guessed.migrations:
        text = "\n" + lint_render.plan_text(guessed)
    else:
        tail = lint_render.plan_tail(plan.locks)
        text = "\n" + "\n".join(tail) if tail and plan.planned else ""
    return text + plans_text(plan.plans) + holds_text(plan.holds)


def plans_json(plans: Sequence[ResolvedPlan]) -> dict[str, Any]:
    """Each pending migration's plan provenance; ``plan`` says ``measured``, ``static`` or
    ``mixed`` as the apply report does, ``rehearsal_ms`` how long a rehearsal took."""
    if not plans:
        return {}
    from gordon_migrate.apply.resolve import plan_kind
    from gordon_migrate.rehearse.pinned import facts_json

    rehearsed = [p.provenance.ms or 0.0 for p in plans if p.provenance.kind == "rehearsed"]
    return {
        "plan": plan_kind(plans),
        "rehearsal_ms": round(max(rehearsed), 1) if rehearsed else None,
        "plans": [
            {
                "version": p.migration.version,
                "file": p.migration.filename,
                "provenance": p.provenance.as_dict(),
                "access": [change.to_json() for change in p.access],
                # What each statement did, as measured (a guessed plan's are in lock_plan).
                "statements": (
                    [{"line": s.line, **facts_json(s)} for s in p.statements]
                    if p.provenance.measured
                    else []
                ),
            }
            for p in plans
        ],
    }


def plans_text(plans: Sequence[ResolvedPlan]) -> str:
    """One line per pending migration: where its lock plan comes from; under a rehearsed one,
    each change of its access delta (an error with why: lint's ``access-contract``)."""
    if not plans:
        return ""
    lines = ["", "plan of each pending migration:"]
    for p in plans:
        lines.append(f"  {p.migration.filename}: {p.provenance.words}")
        if p.provenance.measured:
            lines += measured_lines(p.statements)
        lines += [
            f"    access ERROR: {c.text} ({c.why})" if c.error else f"    access: {c.text}"
            for c in p.access
        ]
    return "\n".join(lines) + "\n"


def measured_lines(statements: Sequence[PinnedStatement]) -> list[str]:
    """Each lock a statement took on a relation that existed before it (what it created
    nobody else could see yet), with the work it did there and what the mode blocks; and
    everything it dropped."""
    lines = []
    for s in statements:
        for lock in s.locks:
            if lock.kind == "object" or lock.new:
                continue
            work = work_on(s, lock.object)
            via = f" (through {lock.via})" if lock.via else ""
            lines.append(
                f"    line {s.line}: {lock.mode} on {lock.object}{via}"
                f"{', ' + work if work else ''}, blocks {lock.blocks}"
            )
        if s.dropped:
            # A CASCADE's victims included: what the server dropped, not what the text names.
            lines.append(f"    line {s.line}: drops {', '.join(s.dropped)}")
    return lines


def work_on(statement: PinnedStatement, relation: str) -> str:
    """``rewrites it``, ``scans it`` or nothing: what ``statement`` did to ``relation``."""
    if relation in statement.rewritten:
        return "rewrites it"
    if relation in statement.scanned:
        return "scans it"
    return ""


def holds_text(holds: Sequence[Hold]) -> str:
    """The predicted lock holds, one line each (nothing when there is none)."""
    if not holds:
        return ""
    lines = ["", "lock holds (predicted from the target's sizes):"]
    lines += [("  REFUSED " if h.refused else "  ") + h.describe() for h in holds]
    return "\n".join(lines) + "\n"

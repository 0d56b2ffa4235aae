"""Text and JSON for lint findings and lock plans (the CLI and ``apply --dry-run``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gordon_migrate.lint.model import Finding, LintReport, LockPlan

if TYPE_CHECKING:
    pass


def _finding_text(f: Finding) -> list[str]:
    lines = [f"{f.location}  {f.rule}  {f.severity}  {f.message}"]
    if f.waived:
        lines.append(f"  waived: {f.waiver_reason}")
    if f.grandfathered:
        lines.append("  grandfathered: in the baseline (applied in production)")
    lines.append(f"  why: {f.why}")
    lines.append(f"  fix: {f.fix}")
    return lines


def report_text(report: LintReport, *, show_grandfathered: bool = False) -> str:
    lines: list[str] = []
    for f in report.findings:
        if f.grandfathered and not show_grandfathered:
            continue
        lines.extend(_finding_text(f))
    errors = sum(1 for f in report.findings if f.counts)
    warnings = sum(
        1 for f in report.findings if f.severity == "warning" and not (f.waived or f.grandfathered)
    )
    grandfathered = sum(1 for f in report.findings if f.grandfathered)
    waived = sum(1 for f in report.findings if f.waived)
    sizes = "live sizes" if report.live else "static (no database)"
    lines.append(
        f"{len(report.files)} file(s), {sizes}: {errors} error(s), {warnings} warning(s); "
        f"{grandfathered} grandfathered by the baseline, {waived} waived"
    )
    lines.append("ok" if report.ok else "FAILED: fix or waive every error above")
    return "\n".join(lines)


def report_json(report: LintReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "files": report.files,
        "live": report.live,
        "findings": [f.as_dict() for f in report.findings],
        "failing": len(report.failing),
    }


def plan_text(plan: LockPlan) -> str:
    if not plan.migrations:
        return ""
    return "\n".join([*_statement_lines(plan), *plan_tail(plan)])


def _statement_lines(plan: LockPlan) -> list[str]:
    lines = ["lock plan (statement: mode on relation, work, blocks):"]
    for m in plan.migrations:
        lines.append(f"  {m.file}{'  (no transaction)' if m.no_transaction else ''}")
        for s in m.statements:
            first = " ".join(s.sql.split())[:60]
            if not s.steps:
                lines.append(f"    line {s.line}: {first}: no table lock")
            for step in s.steps:
                new = " (new in this migration)" if step.new_relation else ""
                lines.append(
                    f"    line {s.line}: {step.mode} on {step.relation}{new}: {step.form}, "
                    f"{step.work}, blocks {step.blocks}"
                )
    return lines


def plan_tail(plan: LockPlan) -> list[str]:
    """What apply would refuse, and who holds conflicting locks now, one line each."""
    lines = []
    for f in plan.refusals:
        lines.append(f"apply would refuse: {f.location}  {f.rule}  {f.message}")
    if plan.live:
        if plan.holders:
            lines.append("sessions holding conflicting locks now (the migration would wait):")
            for h in plan.holders:
                lines.append(f"  {h.describe(brief=True, unknown='?')}: {h.short_query}")
        else:
            lines.append("no session holds a conflicting lock now")
    return lines


def plan_json(plan: LockPlan) -> dict[str, Any]:
    return {
        "live": plan.live,
        "migrations": [
            {
                "file": m.file,
                "no_transaction": m.no_transaction,
                "statements": [
                    {
                        "line": s.line,
                        "locks": [
                            {
                                "relation": st.relation,
                                "mode": st.mode,
                                "form": st.form,
                                "work": st.work,
                                "blocks": st.blocks,
                                "new_relation": st.new_relation,
                            }
                            for st in s.steps
                        ],
                    }
                    for s in m.statements
                ],
            }
            for m in plan.migrations
        ],
        "refusals": [f.as_dict() for f in plan.refusals],
        "holders": [
            {
                "pid": h.pid,
                "relation": h.relation,
                "mode": h.mode,
                "granted": h.granted,
                "application": h.application_name,
                "state": h.state,
                "xact_age_s": h.xact_age_s,
                "query": h.short_query,
            }
            for h in plan.holders
        ],
    }

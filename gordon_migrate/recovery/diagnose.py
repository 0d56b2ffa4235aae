"""``diagnose``: every probe in runbook order, and the result as text or JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gordon_migrate.recovery import runbook
from gordon_migrate.recovery.probes import ProbeResult, Target, run_probes

RUNBOOK_REF = "docs/spof-runbook.md"
_MARK = {"ok": "ok", "warning": "warning", "problem": "PROBLEM", "not_run": "-"}


@dataclass(frozen=True)
class Diagnosis:
    target: str
    results: tuple[ProbeResult, ...]

    @property
    def healthy(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def problems(self) -> tuple[ProbeResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    @property
    def failure_modes(self) -> tuple[str, ...]:
        """Every failure mode named, first-named first."""
        return tuple(dict.fromkeys(m for r in self.results for m in r.failure_modes))


def diagnose(target: Target) -> Diagnosis:
    """Run every probe against ``target`` (read-only)."""
    label = target.dsn.redacted if target.dsn else "(no database URL)"
    return Diagnosis(target=label, results=tuple(run_probes(target)))


def _mode_line(fm_id: str) -> str:
    mode = runbook.load().failure_mode(fm_id)
    # A failure mode with a section of its own is found by its id: naming it again was noise.
    where = "" if mode.section.startswith(mode.id) else f", {mode.section}"
    return f"{mode.id} {mode.name}: {RUNBOOK_REF}{where}"


def render_text(diagnosis: Diagnosis) -> str:
    lines = [f"gordon-migrate diagnose of {diagnosis.target}"]
    for r in diagnosis.results:
        lines.append(f"{r.step:>3}  {_MARK[r.status]:<8} {r.title}: {r.summary}")
        lines += [f"              {d}" for d in r.details]
        lines += [f"              failure mode {_mode_line(m)}" for m in r.failure_modes]
        if not r.ok:
            lines += [f"              next: {c}" for c in r.commands]
    if diagnosis.healthy:
        lines.append("healthy: every step passes; apply has nothing to refuse")
    else:
        steps = ", ".join(str(r.step) for r in diagnosis.problems)
        lines.append(
            f"UNHEALTHY: {len(diagnosis.problems)} problem(s) (step {steps}); follow the first "
            f"in {RUNBOOK_REF}, then run diagnose again"
        )
    return "\n".join(lines)


def render_json(diagnosis: Diagnosis) -> dict[str, Any]:
    book = runbook.load()
    return {
        "ok": diagnosis.healthy,
        "target": diagnosis.target,
        "failure_modes": list(diagnosis.failure_modes),
        "steps": [
            {
                "step": r.step,
                "probe": r.name,
                "title": r.title,
                "status": r.status,
                "summary": r.summary,
                "details": list(r.details),
                "failure_modes": [
                    {
                        "id": m,
                        "name": book.failure_mode(m).name,
                        "section": book.failure_mode(m).section,
                    }
                    for m in r.failure_modes
                ],
                "runbook_section": r.runbook_section,
                "commands": list(r.commands),
            }
            for r in diagnosis.results
        ],
    }

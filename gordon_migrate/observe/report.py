"""``apply --report FILE``: the evidence of one run, as JSON, written atomically (also when it
failed): migration by migration and statement by statement, the durations, the locks each
statement takes (``observe.plan``: measured and pinned, ``"plan": "measured"``, or the static
plan of a migration that is not pinned, ``"plan": "static"``), the lock timeouts and who
blocked them, the outcome and the error with its failure mode.

``diagnose --apply-log`` and ``tui --report`` read it back (``read``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gordon_migrate.observe.output import write_atomically
from gordon_migrate.observe.plan import MEASURED, STATIC, MigrationLocks, plan_locks
from gordon_migrate.rehearse.pinned import major_of

if TYPE_CHECKING:
    from gordon_migrate.core.bundle import Migration
    from gordon_migrate.observe.recorder import RunRecord

KIND = "gordon-migrate apply report"
VERSION = 1


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def build(run: RunRecord, bundle: Sequence[Migration], target: str | None = None) -> dict[str, Any]:
    """The report of ``run`` (``target``: the redacted DSN)."""
    by_version = {m.version: m for m in bundle}
    ran = [by_version[m.version] for m in run.migrations if m.version in by_version]
    locks = plan_locks(ran, bundle, major_of(run.server_version))
    migrations = []
    for m in run.migrations:
        plan = locks.get(m.version, MigrationLocks(STATIC, None, []))
        planned = plan.statements
        statements = [
            {
                "line": s.line,
                "sql": s.text,
                "outcome": s.outcome,
                "attempts": s.attempts,
                "started_at": _iso(s.at) if s.attempts else None,
                "duration_s": round(s.duration_s, 6),
                "lock_wait_s": round(s.lock_wait_s, 6),
                "sqlstate": s.sqlstate,
                "locks": planned[s.index] if len(planned) == len(m.statements) else [],
            }
            for s in m.statements
        ]
        migrations.append(
            {
                "version": m.version,
                "file": m.file,
                "description": m.description,
                "no_transaction": m.no_transaction,
                "outcome": m.outcome,
                "started_at": _iso(m.at),
                "duration_s": round(m.duration_s, 6),
                "execution_s": None if m.execution_s is None else round(m.execution_s, 6),
                "attempts": m.attempts,
                "lock_wait_s": round(m.lock_wait_s, 6),
                "retries": m.retries,
                "plan": plan.plan,
                "plan_server_major": plan.server_major,
                "plan_provenance": plan.provenance,
                "lock_timeouts": [
                    {
                        "attempt": t.attempt,
                        "line": t.line,
                        "waited_s": round(t.waited_s, 6),
                        "pause_s": round(t.pause_s, 6),
                        "retried": t.retried,
                        "blockers": t.blockers,
                    }
                    for t in m.lock_timeouts
                ],
                "statements": statements,
            }
        )
    error = None
    if run.error is not None:
        error = {
            **run.error.fields,
            "kind": run.error.kind,
            "failure_mode": run.error.failure_mode,
            "message": run.error.message,
        }
    return {
        "report": KIND,
        "report_version": VERSION,
        "tool_version": run.tool_version,
        "ok": run.outcome == "success",
        "outcome": run.outcome,
        "error": error,
        "database": run.database,
        "target": target,
        "trace_id": run.trace_id,
        "started_at": _iso(run.at),
        "finished_at": _iso(run.finished_at),
        "duration_s": round(run.duration_s, 6),
        "lock_wait_s": round(run.lock_wait_s, 6),
        "lock_timeouts": run.lock_timeouts,
        "retries": run.retries,
        "stall_s": round(run.stall_s, 6),
        "already_applied": run.already_applied,
        "applied": len(run.applied),
        "pending": run.pending,
        "schema_version": run.schema_version,
        "bundle_version": run.bundle_version,
        "plan": _kind({locks[m.version].plan for m in run.migrations if m.version in locks}),
        "migrations": migrations,
    }


def _kind(plans: set[str]) -> str:
    """The run's plan: ``measured`` or ``static`` when every migration's is, else ``mixed``
    (each migration says which)."""
    if plans == {STATIC}:
        return STATIC
    return MEASURED if plans <= {MEASURED} else "mixed"


def write(path: Path, report: dict[str, Any]) -> None:
    """Write ``report`` to ``path`` atomically (a temporary file beside it, renamed).

    One line of compact JSON: ``indent`` keeps Python's encoder off its C path, which cost
    ~7 ms of a fresh apply for a 38-migration report (bench/README.md); `jq .` reads it."""
    text = json.dumps(report, sort_keys=True, default=str, separators=(",", ":")) + "\n"
    write_atomically(path, text, option="--report")


def read(text: str) -> dict[str, Any] | None:
    """The report in ``text``, or None when ``text`` is not one (an apply log, say)."""
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return None
    try:
        found = json.loads(stripped)
    except ValueError:
        return None
    if isinstance(found, dict) and found.get("report") == KIND:
        return found
    return None


def failure(report: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """The run's error line and its failure mode (None when the run succeeded)."""
    error = report.get("error")
    if not isinstance(error, dict):
        return None
    mode = error.get("failure_mode")
    return str(error.get("message", "")), (mode,) if isinstance(mode, str) else ()

"""SPOF recovery: the runbook as data, read-only probes, guarded history repair and unlock.

A core package: plain functions and frozen dataclasses, no click, no Textual. The CLI
(``cli.recovery``) and the TUI are its two clients:

- ``runbook.load()``: ``docs/spof-runbook.md`` parsed into steps and failure modes;
- ``probes.Target(settings.resolve_target(...))``, ``probes.PROBES``,
  ``probes.run_probes(target)``: the steps' probes, each also callable alone (its own
  connection);
- ``diagnose.diagnose(target)``: every probe in runbook order, and its text/JSON rendering;
- ``repair.plan_repair`` / ``repair.run_repair``: mark one dirty history row done or undone;
- ``unlock.plan_unlock`` / ``unlock.end_session``: end the session holding the migration lock
  (or a lock on a Gordon table).
"""

from __future__ import annotations

from gordon_migrate.core.errors import RecoveryError


def refused(message: str) -> RecoveryError:
    """A refusal: ``message``, and the reassurance that nothing was changed."""
    return RecoveryError(f"{message}. Nothing was changed")

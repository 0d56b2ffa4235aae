"""What would block the pending migrations now: the lock plan's conflicting sessions, the
lint findings apply would refuse on, and the migration lock's holder. Shown by the Overview
and by the apply confirmation, before anything runs."""

from __future__ import annotations

from rich.text import Text

from gordon_migrate.core.sessions import Session
from gordon_migrate.lint.model import LockPlan


def blocker_lines(plan: LockPlan, lock_holder: Session | None) -> list[Text]:
    """One line per thing that would stop or stall an apply now (empty: nothing known)."""
    lines: list[Text] = []
    if lock_holder is not None and not lock_holder.is_self:
        lines.append(
            Text(
                f"migration lock held by {lock_holder.describe(with_state=True)}: "
                "apply waits for it (u ends it)"
            )
        )
    seen: set[tuple[int, str]] = set()
    for h in plan.holders:
        if (h.pid, h.relation) in seen:
            continue
        seen.add((h.pid, h.relation))
        lines.append(Text(f"{h.describe(brief=True)}: apply waits behind it (b ends it)"))
    for f in plan.refusals:
        lines.append(
            Text(f"apply refuses: {f.file}:{f.line} {f.rule}: {f.message}", style="bold red")
        )
    return lines

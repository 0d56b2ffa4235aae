"""The app's screens as the operator meets them: key, title, what each shows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    mode: str
    key: str
    title: str
    help: str


SECTIONS: tuple[Section, ...] = (
    Section("overview", "1", "Overview", "server, database, role, counts, lock holder, last apply"),
    Section("migrations", "2", "Migrations", "every migration with its state, SQL and history"),
    Section("drift", "3", "Drift", "drift-check's checks, their differences and diffs"),
    Section("grants", "4", "Grants", "role x object grant matrix, expected against actual"),
    Section("runbook", "5", "Runbook", "docs/spof-runbook.md step by step with live probes"),
)

"""drift-check as the tests drive it: run it, read its JSON, change the database out of band."""

from __future__ import annotations

import json
from typing import Any

from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner
from tests.support.runner import wait_until


def drift(cli: CliRunner, dsn: str, *args: str) -> tuple[int, dict[str, Any], str]:
    """Run ``drift-check --format json``; return exit code, parsed stdout and stderr."""
    result = cli("drift-check", "--database-url", dsn, "--format", "json", *args)
    return result.code, json.loads(result.out), result.err


def failing(payload: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Differences of every failing check, by check name."""
    return {c["name"]: c["differences"] for c in payload["checks"] if not c["ok"]}


def find(payload: dict[str, Any], check: str, obj: str) -> dict[str, Any]:
    """The difference of ``check`` about ``obj``; fails the test, listing what there is."""
    differences = failing(payload).get(check, [])
    for difference in differences:
        if difference["object"] == obj:
            return difference
    listed = [d["object"] for d in differences]
    raise AssertionError(f"{check}: no difference about {obj!r}; found {listed}")


def execute(db: GordonDatabase, *statements: str) -> None:
    with db.connect() as conn:
        for statement in statements:
            conn.execute(statement.encode())


# --- a fresh database passes -----------------------------------------------------------------


def wait_reader_sessions_gone(dsn: str) -> None:
    """Until no session of gordon_drift_reader is left: a closed connection's backend exits
    asynchronously (a CI run saw one still listed just after drift-check returned), and one
    that is never closed still fails here, after the deadline."""
    wait_until(
        dsn,
        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = 'gordon_drift_reader')",
    )

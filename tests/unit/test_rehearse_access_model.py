"""The access delta's data: who the runtime roles are (the pinned grant matrix's), the JSON
round trip of a rehearsal that carries one, its text, and that the pinned lock plan ignores
it."""

from __future__ import annotations

import json
from pathlib import Path

from gordon_migrate.core.bundle import Migration
from gordon_migrate.drift import fixtures
from gordon_migrate.rehearse import access, pinning, render
from gordon_migrate.rehearse.model import AccessChange, MigrationFacts, Rehearsal, StatementFacts
from gordon_migrate.rehearse.pinned import PinnedPlan

REVOKE = AccessChange(
    "privilege",
    "trading.bot_leases",
    "revokes DELETE on trading.bot_leases from gordon_bots",
    "error",
    "gordon_bots held it and the service loses it",
    ("gordon_bots",),
)
GRANT = AccessChange(
    "privilege",
    "trading.x",
    "grants SELECT on new trading.x to gordon_api",
    "info",
    "",
    ("gordon_api",),
)
STATEMENT = StatementFacts(
    line=1, text="REVOKE DELETE ON trading.bot_leases FROM gordon_bots", ms=1.0
)


def test_the_runtime_roles_are_those_of_the_pinned_grant_matrix() -> None:
    roles = access.runtime_roles()
    assert roles == fixtures.load().roles
    assert roles is not None and "gordon_api" in roles and "gordon_drift_reader" in roles


def test_without_a_grant_matrix_every_role_counts_as_a_runtime_role(tmp_path: Path) -> None:
    assert access.runtime_roles(tmp_path) is None


def test_a_rehearsal_with_access_changes_round_trips_through_json() -> None:
    rehearsal = Rehearsal(
        "18.1",
        5.0,
        (),
        (MigrationFacts(39, "0039_x.sql", False, 2.0, (STATEMENT,), (REVOKE, GRANT)),),
    )
    text = json.dumps(rehearsal.to_json(), sort_keys=True)
    assert Rehearsal.from_json(json.loads(text)) == rehearsal
    assert json.loads(text)["migrations"][0]["access"][0]["severity"] == "error"


def test_json_written_before_the_access_delta_still_reads() -> None:
    data = Rehearsal("18.1", 5.0, (), (MigrationFacts(1, "0001_x.sql", False, 2.0, ()),)).to_json()
    del data["migrations"][0]["access"]
    assert Rehearsal.from_json(data).migrations[0].access == ()


def test_the_text_lists_errors_first_with_why() -> None:
    assert render.access_lines((GRANT, REVOKE)) == [
        "  access:",
        "    ERROR revokes DELETE on trading.bot_leases from gordon_bots "
        "(gordon_bots held it and the service loses it)",
        "    info  grants SELECT on new trading.x to gordon_api",
    ]
    assert render.access_lines(()) == ["  access: unchanged"]
    assert access.errors((GRANT, REVOKE)) == (REVOKE,)


def test_the_pinned_lock_plan_ignores_the_access_delta() -> None:
    sql = STATEMENT.text + ";\n"
    migration = Migration(version=39, description="x", path=Path("0039_x.sql"), data=sql.encode())
    plans = [
        pinning.render(
            pinning.merge(
                PinnedPlan(),
                [migration],
                Rehearsal(
                    "18.1",
                    5.0,
                    (),
                    (MigrationFacts(39, "0039_x.sql", False, 2.0, (STATEMENT,), changes),),
                ),
            )
        )
        for changes in ((), (REVOKE, GRANT))
    ]
    assert plans[0] == plans[1]
    assert "revokes" not in plans[1]

"""A dirty history row is explained as what it is (issue 10, item 3): a no-transaction
migration that stopped part-way, or, for a transactional migration, a row this tool never
writes. Through apply, diagnose and repair in a child process, and the TUI's repair dialog."""

from __future__ import annotations

import json

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Static

from gordon_migrate.testing import GordonDatabase
from gordon_migrate.tui.app import GordonApp
from gordon_migrate.tui.screens.actions import RepairChoiceModal
from tests.support.cli import run_process
from tests.support.tui import drive, make_app, text_of, wait_for

TRANSACTIONAL = 38  # 0038_runs_strategy_code_revision.sql
NO_TRANSACTION = 35  # 0035_fills_filled_at_index.sql: CREATE INDEX CONCURRENTLY


def _make_dirty(db: GordonDatabase, version: int) -> None:
    with db.connect() as conn:
        conn.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = %s", (version,))


def _error(stderr: str) -> str:
    return str(json.loads(stderr.splitlines()[-1])["event"])


def test_transactional_dirty_row_is_not_called_a_part_way_stop(gordon_db: GordonDatabase) -> None:
    _make_dirty(gordon_db, TRANSACTIONAL)
    done = run_process("apply", "--log-format", "json", "--database-url", gordon_db.dsn)
    assert done.returncode == 1
    line = _error(done.stderr)
    assert "migration 0038 (0038_runs_strategy_code_revision.sql) is dirty" in line
    assert "no-transaction" not in line and "part-way" not in line
    assert "gordon-migrate writes its history row in that same transaction" in line
    assert "something else wrote it (another migration tool, a manual edit" in line
    assert "`gordon-migrate repair 38` if they all are" in line
    assert "`gordon-migrate repair 38 --undone` if none are" in line

    diagnosed = run_process("diagnose", "--format", "json", "--database-url", gordon_db.dsn)
    history = next(s for s in json.loads(diagnosed.stdout)["steps"] if s["probe"] == "history")
    assert history["status"] == "problem"
    assert history["summary"] == line
    assert [m["id"] for m in history["failure_modes"]] == ["FM-13"]

    plan = run_process("repair", "38", "--done", "--database-url", gordon_db.dsn)
    assert plan.returncode == 1  # not confirmed: stdin is no terminal
    assert "why it is dirty: it runs in a transaction" in plan.stdout
    assert "you checked that all of its changes are in the database" in plan.stdout
    assert "finished its statements" not in plan.stdout


def test_no_transaction_dirty_row_stopped_part_way(gordon_db: GordonDatabase) -> None:
    _make_dirty(gordon_db, NO_TRANSACTION)
    with gordon_db.connect() as conn:  # an index by its name that it did not build: no resume
        conn.execute("DROP INDEX trading.fills_filled_at_idx")
        conn.execute("CREATE INDEX fills_filled_at_idx ON trading.fills (intent_id)")
    done = run_process("apply", "--log-format", "json", "--database-url", gordon_db.dsn)
    assert done.returncode == 1
    line = _error(done.stderr)
    assert "migration 0035 (0035_fills_filled_at_index.sql) is dirty" in line
    assert "no-transaction migration that failed or was interrupted part-way" in line
    assert "statements before the one that stopped may have taken effect" in line
    assert "`gordon-migrate repair 35` (finished)" in line

    assert "apply does not resume it by itself" in line
    diagnosed = run_process("diagnose", "--database-url", gordon_db.dsn)
    assert "no-transaction migration that failed or was interrupted part-way" in diagnosed.stdout

    with gordon_db.connect() as conn:  # undone by hand: repair checks it is gone
        conn.execute("DROP INDEX trading.fills_filled_at_idx")
    plan = run_process("repair", "35", "--undone", "--database-url", gordon_db.dsn)
    assert "why it is dirty: it is a no-transaction migration" in plan.stdout
    assert "you undid what took effect of it" in plan.stdout


@pytest.mark.parametrize(
    ("version", "said", "buttons"),
    [
        (TRANSACTIONAL, "this tool never leaves such a row", ("All of it is in", "None of it")),
        (NO_TRANSACTION, "interrupted part-way", ("Finished by hand", "Undone by hand")),
    ],
)
def test_tui_repair_dialog_says_what_is_true(
    gordon_db: GordonDatabase, version: int, said: str, buttons: tuple[str, str]
) -> None:
    _make_dirty(gordon_db, version)

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        await pilot.press("x")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RepairChoiceModal) and app.screen.dirty is not None,
            "the dirty migration",
        )
        shown = " ".join(text_of(app.screen.query_one("#message", Static)).split())
        assert f"Migration {version:04d}" in shown
        assert said in shown
        if version == TRANSACTIONAL:
            assert "part-way" not in shown
        assert str(app.screen.query_one("#done", Button).label).startswith(buttons[0])
        assert str(app.screen.query_one("#undone", Button).label).startswith(buttons[1])
        await pilot.press("escape")

    drive(make_app(gordon_db), scenario)

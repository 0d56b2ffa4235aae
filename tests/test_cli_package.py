"""The ``cli`` package: lazily loaded commands, the import contracts' module list, and option
values that fail to convert reported like any other bad setting."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

import gordon_migrate
from gordon_migrate.cli import COMMANDS
from gordon_migrate.cli import cli as group
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import CliRunner, run_process

OTHER_COMMAND_MODULES = ["drift", "lint", "recovery", "rehearse", "tui"]


def test_the_group_resolves_every_command_by_its_own_name() -> None:
    ctx = click.Context(group)
    assert group.list_commands(ctx) == sorted(COMMANDS)
    for name in COMMANDS:
        command = group.get_command(ctx, name)
        assert isinstance(command, click.Command), name
        assert command.name == name
        assert command.help, f"{name} has no help for --help to list"
    assert group.get_command(ctx, "statsu") is None


@pytest.mark.parametrize("argv", [["apply"], []], ids=["apply", "no command"])
def test_apply_imports_no_other_command_module(gordon_db: GordonDatabase, argv: list[str]) -> None:
    # The modules loaded when the process exits, after the apply ran for real.
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('loaded', *sorted(m for m in sys.modules "
        "if m.startswith('gordon_migrate.cli.'))))\n"
        "from gordon_migrate.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv, "--database-url", gordon_db.dsn],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout
    loaded = done.stdout.splitlines()[-1].split()
    assert loaded[0] == "loaded"
    assert "gordon_migrate.cli.apply" in loaded
    assert not {f"gordon_migrate.cli.{m}" for m in OTHER_COMMAND_MODULES} & set(loaded), loaded


def test_every_floor_below_the_clients_is_kept_free_of_click_and_textual() -> None:
    """The layers contract is exhaustive (a new package must take a floor); the click/textual
    ban must then cover every floor but the two clients', or a new floor escapes it."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    contracts = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")
    floors = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    packages = {m.name for m in pkgutil.iter_modules(gordon_migrate.__path__)}
    assert floors == packages
    banned = next(c for c in contracts if c["name"].startswith("below the clients"))
    assert set(banned["source_modules"]) == {f"gordon_migrate.{f}" for f in floors - {"cli", "tui"}}


def test_a_bad_duration_honours_the_formats_given_after_it(cli: CliRunner) -> None:
    """Click converts the duration while parsing; the formats are parsed first (eager)."""
    result = cli("apply", "--lock-timeout", "soon", "--format", "json")
    assert result.code == 1
    error = json.loads(result.out)["error"]
    assert error == {
        "kind": "config",
        "message": "--lock-timeout: 'soon' is not a duration; "
        "use e.g. 200ms, 5s, 15min, 1h (0 disables)",
    }
    assert result.error_line == error["message"]
    console = run_process("diagnose", "--blocker-age", "5x", "--log-format", "console")
    assert console.returncode == 1
    assert console.stderr == (
        "gordon-migrate: error: --blocker-age: '5x' is not a duration; "
        "use e.g. 200ms, 5s, 15min, 1h (0 disables)\n"
    )
    assert console.stdout == ""


def test_a_bad_log_level_still_wins_over_a_bad_duration(cli: CliRunner) -> None:
    result = cli("apply", "--statement-timeout", "1y", "--log-level", "loud")
    assert result.code == 1
    assert result.err == (
        "gordon-migrate: error: --log-level: 'loud' is not one of debug, info, warning, error\n"
    )

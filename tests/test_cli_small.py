"""Small things an operator trips on (issue 10, item 10), through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gordon_migrate.recovery import probes
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import run_process


def test_unknown_command_lists_the_commands_and_suggests_the_closest() -> None:
    done = run_process("statsu", "--database-url", "postgresql://u@db/g")
    assert done.returncode == 1
    assert "no such command 'statsu'. Did you mean 'status'?" in done.stderr
    for command in ("apply", "status", "diagnose", "drift-check", "repair", "unlock", "tui"):
        assert command in done.stderr
    assert "gordon-migrate apply" not in done.stderr, "not apply's usage"
    far = run_process("xyzzy")
    assert "no such command 'xyzzy'. Commands:" in far.stderr
    assert "Did you mean" not in far.stderr


def test_no_command_still_means_apply() -> None:
    done = run_process("--log-format", "json", "--dry-run")
    assert done.returncode == 1
    assert json.loads(done.stderr.splitlines()[-1])["event"].startswith("no database given")


def test_a_bad_port_is_fm02_in_diagnose() -> None:
    done = run_process("diagnose", "--format", "json", "--database-url", "host=db port=abc")
    payload = json.loads(done.stdout)
    assert payload["failure_modes"] == ["FM-02"]
    config = next(s for s in payload["steps"] if s["probe"] == "config")
    assert "port 'abc' is not a number" in config["summary"]


def test_embedded_stop_names_the_directory_it_checked(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"GORDON_EMBEDDED_DIR", "DATABASE_URL"}}
    done = subprocess.run(
        [sys.executable, "-m", "gordon_migrate.cli", "embedded", "stop"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    checked = (tmp_path / ".gordon" / "pg").resolve()
    assert f"not running: no embedded server in {checked}" in done.stdout
    assert "GORDON_EMBEDDED_DIR" in done.stdout


def test_diagnose_says_each_thing_once(gordon_db: GordonDatabase) -> None:
    done = run_process("diagnose", "--format", "json", "--database-url", gordon_db.dsn)
    steps = json.loads(done.stdout)["steps"]
    assert len(steps) == len(probes.PROBES)
    for step in steps:
        title, summary = step["title"].lower(), step["summary"].lower()
        last = title.split()[-1]
        assert not summary.startswith(last), f"{title}: {summary}"
        assert title not in summary, f"{title}: {summary}"
    text = run_process("diagnose", "--database-url", gordon_db.dsn).stdout
    assert "no drift: no drift" not in text and "consistent: consistent" not in text

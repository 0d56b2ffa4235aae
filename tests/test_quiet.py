"""Quiet by default (issue 23): readable nested values on a terminal, and the test plugin
leaves nothing behind under /dev/shm."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import structlog

from gordon_migrate.core import logs
from gordon_migrate.testing import scratch_parent


def test_console_logs_render_nested_values_as_words() -> None:
    out = io.StringIO()
    logs.configure("info", "console", stream=out)
    try:
        structlog.get_logger("test").warning(
            "lock_timeout: retrying",
            blockers=[{"pid": 12, "relation": "trading.runs"}, {"pid": 13}],
        )
    finally:
        logs.configure("info", "json")
    line = out.getvalue()
    assert "blockers=[pid=12 relation=trading.runs; pid=13]" in line, line
    assert "{'pid'" not in line


def test_json_logs_keep_nested_values_as_json() -> None:
    out = io.StringIO()
    logs.configure("info", "json", stream=out)
    structlog.get_logger("test").warning("retrying", blockers=[{"pid": 12}])
    assert '"blockers": [{"pid": 12}]' in out.getvalue()


@pytest.mark.embedded_only("the plugin's embedded server is what makes the folder")
def test_the_plugin_removes_its_server_folder(tmp_path: Path) -> None:
    parent = scratch_parent()
    if parent is None:
        pytest.skip("no writable /dev/shm here: the plugin uses the temporary folder")
    before = {p.name for p in Path(parent).glob("gordon-test-pg-*")}
    (tmp_path / "test_one.py").write_text(
        textwrap.dedent(
            """
            def test_server(gordon_server):
                assert gordon_server.version
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Another test session may be running (its folder holds its server's data): what the
    # child would have left is an empty folder.
    left = [
        p.name
        for p in Path(parent).glob("gordon-test-pg-*")
        if p.name not in before and not any(p.iterdir())
    ]
    assert not left, f"left behind: {left}"


@pytest.mark.embedded_only("fixtures update starts a throwaway embedded server")
def test_fixtures_update_says_one_line_and_keeps_its_details_for_debug() -> None:
    from tests.support.cli import run_process

    plain = run_process("fixtures", "update", "--check", "--log-format", "json", timeout=300)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip().splitlines() == [
        line for line in plain.stdout.strip().splitlines() if "up to date" in line
    ]
    assert len(plain.stdout.strip().splitlines()) == 1
    assert plain.stderr.strip() == "", plain.stderr
    detailed = run_process(
        "fixtures",
        "update",
        "--check",
        "--log-format",
        "json",
        "--log-level",
        "debug",
        timeout=300,
    )
    assert detailed.returncode == 0, detailed.stderr
    assert detailed.stderr.count('"migration applied"') == 38

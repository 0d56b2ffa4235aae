"""The CLI as the tests run it: in-process (the ``cli`` fixture) or as a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The one line the CLI prints for an expected failure."""
        return error_event(self.err)


def error_event(stderr: str) -> str:
    """The failure line of a JSON-logging run: the last stderr line, an ``error`` event."""
    last = json.loads(stderr.splitlines()[-1])
    assert last["level"] == "error", stderr
    return str(last["event"])


#: The ``cli`` fixture: ``cli("apply", ...)`` -> exit code, stdout and stderr.
CliRunner = Callable[..., CliResult]

#: The ``bundle_dir`` fixture: ``{"0001_create_t.sql": "CREATE TABLE ..."}`` -> its folder.
Bundle = Callable[[dict[str, str]], Path]


def run_process(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a child process (exit codes, concurrency, faults)."""
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gordon_migrate.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )

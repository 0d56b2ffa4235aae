"""The deploy image, built without an engine: the Dockerfile's build stage replayed
(tests/support/dockerfile_replay.py), then its launcher run as the image runs it.

As the image runs: an empty environment plus the image's ENV (PYTHONPATH and the rest), the
launcher given to the interpreter with ``-s``, the image's whole tree read-only, HOME not
writable, against the test server. The interpreter is the running one (Python 3.11, as the
image's) in a fresh virtualenv with nothing installed: the launcher finds only what the image
holds, not this checkout's virtualenv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gordon_migrate.testing import GordonDatabase
from tests.support.dockerfile_replay import Image, replay

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Container:
    image: Image
    python: Path  # an interpreter with an empty site-packages, as distroless's python3
    home: Path

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``docker run IMAGE ARGS``: the ENTRYPOINT, then ARGS or else the CMD."""
        return self.python_run(
            *self.image.entrypoint[1:], *(args or self.image.cmd), env=env, launcher=True
        )

    def python_run(
        self, *args: str, env: dict[str, str] | None = None, launcher: bool = False
    ) -> subprocess.CompletedProcess[str]:
        head = [self.image.entrypoint[0]] if launcher else []
        argv = [str(self.python), "-s", *head, *args]
        if os.geteuid() == 0:
            # Root writes through any mode bits: without these two capabilities a root process
            # is held to them, as the image's nonroot user is (its uid cannot run this
            # checkout's interpreter, which lives under /root).
            setpriv = shutil.which("setpriv")
            assert setpriv is not None, "as root, the read-only runs need setpriv (util-linux)"
            argv = [setpriv, "--bounding-set=-dac_override,-fowner", "--", *argv]
        return subprocess.run(
            argv,
            env={**self.image.env, "HOME": str(self.home), **(env or {})},
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if not path.is_symlink()
    }


def _set_writable(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    work = tmp_path_factory.mktemp("image")
    image = replay(REPO / "Dockerfile", REPO, work / "build")
    venv = work / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    home = work / "home"
    home.mkdir()
    # The production container: read-only root filesystem, so neither the tree nor HOME.
    _set_writable(image.root, writable=False)
    _set_writable(home, writable=False)
    try:
        yield Container(image=image, python=venv / "bin" / "python", home=home)
    finally:
        _set_writable(image.root, writable=True)
        _set_writable(home, writable=True)


def test_the_image_runs_as_nonroot_from_a_python_launcher(container: Container) -> None:
    user = container.image.user.partition(":")[0]
    assert user not in {"", "root", "0"}, container.image.user
    launcher = Path(container.image.entrypoint[0])
    assert launcher.read_text().splitlines()[0] == "#!/usr/bin/python3"  # distroless's python
    assert container.image.cmd == ["apply"]
    assert set(container.image.env) >= {"PYTHONPATH", "PYTHONDONTWRITEBYTECODE"}


def test_the_launcher_imports_only_the_image_tree(container: Container) -> None:
    probe = (
        "import sys, gordon_migrate, psycopg, psycopg_binary, pglast, textual, structlog\n"
        "for m in (gordon_migrate, psycopg, psycopg_binary, pglast, textual, structlog):\n"
        "    print(m.__file__)\n"
        "print(sys.flags.no_user_site, sys.dont_write_bytecode)\n"
    )
    done = container.python_run("-c", probe)
    assert done.returncode == 0, done.stderr
    *files, flags = done.stdout.splitlines()
    tree = container.image.env["PYTHONPATH"]
    assert all(f.startswith(tree + "/") for f in files), files
    assert flags == "1 True"


def test_the_image_tree_and_home_are_read_only_for_the_launcher(container: Container) -> None:
    """Proves the read-only runs below mean something: a write there fails."""
    for where in (container.image.env["PYTHONPATH"], str(container.home)):
        done = container.python_run("-c", f"open({where + '/probe'!r}, 'w')")
        assert done.returncode == 1
        assert "PermissionError" in done.stderr, done.stderr


def test_the_image_applies_then_drift_checks_clean(
    container: Container, gordon_empty_db: GordonDatabase
) -> None:
    before = _tree(container.image.root)
    applied = container.run(env={"DATABASE_URL": gordon_empty_db.dsn})  # the CMD: apply
    assert applied.returncode == 0, applied.stderr
    assert "applied 38 migration(s)" in applied.stdout
    again = container.run("apply", env={"DATABASE_URL": gordon_empty_db.dsn})
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout
    drift = container.run(
        "drift-check", env={"DATABASE_URL": gordon_empty_db.dsn_as("gordon_drift_reader")}
    )
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert "no drift: the database is exactly what the migrations built" in drift.stdout
    assert _tree(container.image.root) == before, "the run wrote into the image"


def test_the_image_has_the_tui(container: Container) -> None:
    helped = container.run("tui", "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: ")
    # --help does not import Textual: the TUI's modules must load from the tree too.
    done = container.python_run("-c", "import gordon_migrate.tui.app")
    assert done.returncode == 0, done.stderr

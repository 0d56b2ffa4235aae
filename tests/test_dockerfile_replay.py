"""The replay of tests/test_image.py on Dockerfiles that cannot build: each failure names the
line of the Dockerfile, before anything slow runs when it can."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.dockerfile_replay import (
    ReplayError,
    context_files,
    excluded_by,
    parse,
    rebase_words,
    replay,
)

REPO = Path(__file__).resolve().parent.parent

#: The build stage of aed1aaf, whose COPY lines fell behind pyproject.toml's force-includes.
LISTED_COPIES = """\
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md .gitattributes ./
COPY gordon_migrate ./gordon_migrate
COPY migrations ./migrations
COPY fixtures ./fixtures
COPY docs ./docs
RUN pip wheel --no-deps -w /wheels . \\
 && pip install --target /opt/gordon /wheels/*.whl
"""


def _dockerfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return path


def _replay_fails(tmp_path: Path, text: str) -> str:
    with pytest.raises(ReplayError) as failed:
        replay(_dockerfile(tmp_path, text), REPO, tmp_path / "work")
    return str(failed.value)


def test_a_copy_source_missing_from_the_repository_names_its_line(tmp_path: Path) -> None:
    text = (
        "FROM python:3.11-slim-bookworm AS build\n"
        "WORKDIR /src\n"
        "COPY pyproject.toml ./\n"
        "# a comment, and a continued line, count as lines too\n"
        "COPY gordon_migrate \\\n"
        "     ./gordon_migrate\n"
        "COPY no_such_dir ./no_such_dir\n"
        "RUN false\n"
    )
    message = _replay_fails(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'Dockerfile'}:7: COPY no_such_dir ./no_such_dir: ")
    assert "'no_such_dir' is not in the build context" in message
    assert not list((tmp_path / "work").glob("stage*")), "nothing runs before every COPY is known"


def test_a_copy_source_the_dockerignore_excludes_is_missing_too(tmp_path: Path) -> None:
    message = _replay_fails(tmp_path, "FROM python:3.11-slim AS build\nCOPY tests /src/tests\n")
    assert ":2: COPY tests /src/tests: 'tests' is not in the build context" in message


def test_the_listed_copies_of_aed1aaf_fail_on_the_wheel_build(tmp_path: Path) -> None:
    """The issue's replay: the wheel cannot be built without lint/baseline.txt."""
    message = _replay_fails(tmp_path, LISTED_COPIES)
    assert message.startswith(f"{tmp_path / 'Dockerfile'}:8: RUN pip wheel --no-deps")
    assert "Forced include not found" in message
    assert "lint/baseline.txt" in message


def test_an_instruction_the_replay_does_not_know_fails_rather_than_being_skipped(
    tmp_path: Path,
) -> None:
    message = _replay_fails(tmp_path, "FROM python:3.11-slim\nHEALTHCHECK NONE\n")
    assert ":2: HEALTHCHECK NONE: the replay does not know this instruction" in message


def test_stages_keep_their_names_and_line_numbers() -> None:
    stages = parse(REPO / "Dockerfile")
    assert [s.name for s in stages] == ["build", None]
    lines = (REPO / "Dockerfile").read_text().splitlines()
    for stage in stages:
        for instruction in stage.instructions:
            assert lines[instruction.line - 1].startswith(instruction.keyword)


def test_absolute_words_move_under_the_root_but_quoted_text_does_not() -> None:
    command = "pip wheel -w /wheels . && printf '#!/usr/bin/python3\\n' > /opt/g/bin/x"
    assert rebase_words(command, Path("/r")) == (
        "pip wheel -w /r/wheels . && printf '#!/usr/bin/python3\\n' > /r/opt/g/bin/x"
    )
    assert rebase_words('X=/a cp "/q" /b', Path("/r")) == 'X=/r/a cp "/q" /r/b'


@pytest.mark.parametrize(
    ("patterns", "name", "excluded"),
    [
        ("tests", "tests/test_image.py", True),
        ("tests", "gordon_migrate/tests.py", False),
        ("**/__pycache__", "gordon_migrate/cli/__pycache__/x.pyc", True),
        ("**/*.py[cod]", "a/b.pyc", True),
        ("*.md", "README.md", True),
        ("*.md", "docs/spof-runbook.md", False),
        ("docs\n!docs/spof-runbook.md", "docs/spof-runbook.md", False),
        ("docs\n!docs/spof-runbook.md", "docs/schema.md", True),
        ("/dist", "dist/x.whl", True),
    ],
)
def test_dockerignore_patterns_match_as_docker_matches(
    patterns: str, name: str, excluded: bool
) -> None:
    assert excluded_by(patterns, name) is excluded


def test_the_context_has_what_the_wheel_bundles_and_not_the_tests() -> None:
    files = set(context_files(REPO))
    assert {"pyproject.toml", "README.md", "lint/baseline.txt", "docs/spof-runbook.md"} <= files
    assert not {f for f in files if f.startswith(("tests/", "bench/", ".git/"))}


def test_the_dockerignore_keeps_out_everything_git_ignores() -> None:
    """The replay's context is git's file list: the engine's (the directory on disk) must not
    hold more, so whatever .gitignore ignores .dockerignore excludes too."""
    dockerignore = (REPO / ".dockerignore").read_text()
    for raw in (REPO / ".gitignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        sample = re.sub(r"\[(.)[^]]*\]", r"\1", pattern).replace("*", "x").rstrip("/")
        names = [sample, f"{sample}/f"]
        if "/" not in pattern.rstrip("/"):  # git matches such a pattern at any depth
            names += [f"gordon_migrate/{sample}", f"gordon_migrate/{sample}/f"]
        for name in names:
            assert excluded_by(dockerignore, name), f".gitignore {pattern!r}: {name} gets in"

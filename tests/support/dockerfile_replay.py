"""A Dockerfile's build, replayed without an engine: what tests/test_image.py runs.

No Docker engine runs here or in CI, so the image is proved by doing what the engine would
do, from the Dockerfile itself (parsed with dockerfile-parse), so that a change to the
Dockerfile is what the test runs:

- the build context is the repository's files (``git ls-files``, tracked and untracked but not
  ignored: a clean checkout plus the work in progress) less what ``.dockerignore`` excludes;
- each stage has its own empty directory standing for its filesystem root. An absolute path
  in the Dockerfile (WORKDIR, a COPY destination, a word of a RUN line outside quotes, an ENV
  value, the ENTRYPOINT) is a path in that root. Quoted text is content, not a path: the
  launcher's ``#!/usr/bin/python3`` is written as it is;
- RUN lines run with ``/bin/sh -c`` in the stage's WORKDIR, with ``python`` and ``pip`` being
  the running interpreter (the image's build stage is the same Python 3.11): the pip, printf,
  chmod and compileall steps are the Dockerfile's own words;
- ``COPY --from=STAGE`` copies between the stages' roots, so the final root holds exactly what
  the runtime stage copies, nothing the build left beside it.

A COPY source missing from the context fails naming the Dockerfile's line, before anything
runs. Instructions the replay does not know fail too, rather than being skipped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from dockerfile_parse import DockerfileParser


class ReplayError(Exception):
    """The Dockerfile cannot be built as written; the message names its line."""


@dataclass(frozen=True)
class Instruction:
    path: Path
    line: int  # 1-based, where the instruction starts
    keyword: str
    value: str

    def fail(self, message: str) -> ReplayError:
        return ReplayError(f"{self.path}:{self.line}: {self.keyword} {self.value}: {message}")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


@dataclass(frozen=True)
class Image:
    """The final stage: its root directory and how the engine would start it."""

    root: Path
    env: dict[str, str]  # the image's ENV, its paths under ``root``
    entrypoint: list[str]  # exec form, its paths under ``root``
    cmd: list[str]
    user: str


def parse(dockerfile: Path) -> list[Stage]:
    """The stages of ``dockerfile``, each with its instructions and their line numbers."""
    parser = DockerfileParser(path=str(dockerfile))
    stages: list[Stage] = []
    for item in parser.structure:
        keyword = str(item["instruction"]).upper()
        if keyword == "COMMENT":
            continue
        instruction = Instruction(
            path=dockerfile,
            line=int(item["startline"]) + 1,
            keyword=keyword,
            value=str(item["value"]).strip(),
        )
        if keyword == "FROM":
            words = instruction.value.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif not stages:
            if keyword != "ARG":
                raise instruction.fail("comes before any FROM")
        else:
            stages[-1].instructions.append(instruction)
    if not stages:
        raise ReplayError(f"{dockerfile}: no FROM")
    return stages


def context_files(root: Path) -> list[str]:
    """The build context as a release build sees it: the repository's files less
    ``.dockerignore`` (POSIX paths relative to ``root``)."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    files = sorted({name for name in listed.split("\0") if name and (root / name).is_file()})
    ignore = root / ".dockerignore"
    patterns = read_dockerignore(ignore.read_text()) if ignore.exists() else []
    return [name for name in files if not ignored(name, patterns)]


def read_dockerignore(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """``.dockerignore`` lines as (exclude, regex): ``!`` re-includes, the last match wins."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        line = line.lstrip("!").strip()
        cleaned = os.path.normpath(line).lstrip("/")
        patterns.append((exclude, re.compile(_glob_regex(cleaned))))
    return patterns


def _glob_regex(pattern: str) -> str:
    """Go's filepath.Match, as Docker uses it, plus ``**`` for any number of directories."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i)
            if end < 0:
                raise ReplayError(f".dockerignore: unclosed [ in {pattern!r}")
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def ignored(name: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether ``.dockerignore`` keeps ``name`` out: a pattern matching a directory keeps out
    everything below it."""
    parts = name.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for exclude, regex in patterns:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = exclude
    return excluded


def under(root: Path, image_path: str) -> Path:
    """``image_path`` of the image, in the directory standing for its root."""
    return root.joinpath(*PurePosixPath(image_path).relative_to("/").parts)


def rebase_words(command: str, root: Path) -> str:
    """``command`` with each word that is an absolute path moved under ``root``.

    A word is one that starts after a blank, ``=`` or a redirection, outside quotes: text in
    quotes is what a command writes (the launcher's shebang), not where it writes."""
    out = []
    quote: str | None = None
    previous = " "
    for char in command:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "/" and (previous.isspace() or previous in "=><|;&"):
            out.append(str(root))
        out.append(char)
        previous = char
    return "".join(out)


def _interpreter_shims(directory: Path) -> Path:
    """``python`` and ``pip`` on PATH as the running interpreter (the build stage's Python)."""
    directory.mkdir(parents=True, exist_ok=True)
    shims = {
        "python": f'exec {shlex.quote(sys.executable)} "$@"\n',
        "python3": f'exec {shlex.quote(sys.executable)} "$@"\n',
        "pip": f'exec {shlex.quote(sys.executable)} -m pip "$@"\n',
        "pip3": f'exec {shlex.quote(sys.executable)} -m pip "$@"\n',
    }
    for name, body in shims.items():
        shim = directory / name
        shim.write_text("#!/bin/sh\n" + body)
        shim.chmod(0o755)
    return directory


def parse_env(instruction: Instruction) -> dict[str, str]:
    """``ENV K=V K2="V 2"`` (or the legacy ``ENV K V``)."""
    words = shlex.split(instruction.value)
    if words and "=" not in words[0]:
        return {words[0]: instruction.value.split(None, 1)[1] if len(words) > 1 else ""}
    env = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise instruction.fail(f"{word!r} is not KEY=VALUE")
        env[key] = value
    return env


def _exec_form(instruction: Instruction) -> list[str]:
    try:
        value = json.loads(instruction.value)
    except json.JSONDecodeError:
        raise instruction.fail("write it in exec form (a JSON list)") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise instruction.fail("not a JSON list of strings")
    return [str(v) for v in value]


def _rebase_value(value: str, root: Path) -> str:
    """An ENV value or exec word: absolute paths (one, or a ``:`` list) move under ``root``."""
    if not value.startswith("/"):
        return value
    return ":".join(str(under(root, p)) if p.startswith("/") else p for p in value.split(":"))


@dataclass
class _StageState:
    root: Path
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    user: str = "root"


class Replay:
    def __init__(self, dockerfile: Path, context: Path, work: Path) -> None:
        self.dockerfile = dockerfile
        self.context = context
        self.work = work
        self.files = context_files(context)
        self.dirs = {str(PurePosixPath(f).parent) for f in self.files} | {"."}
        for name in list(self.dirs):
            parent = PurePosixPath(name)
            while str(parent) != ".":
                parent = parent.parent
                self.dirs.add(str(parent))
        self.shims = _interpreter_shims(work / "shims")
        self.states: dict[str, _StageState] = {}

    def run(self) -> Image:
        stages = parse(self.dockerfile)
        # Every COPY source is checked before anything runs: a missing one is named at once.
        for stage in stages:
            for instruction in stage.instructions:
                if instruction.keyword in {"COPY", "ADD"}:
                    flags, sources, _ = self._copy_args(instruction)
                    if "from" not in flags:
                        for source in sources:
                            self._matches(instruction, source)
        if any(c.isspace() for c in str(self.work)):
            raise ReplayError(f"{self.work}: the RUN lines would split a path with blanks")
        state = _StageState(root=self.work)
        for index, stage in enumerate(stages):
            if stage.base in self.states:
                raise ReplayError(f"{self.dockerfile}: FROM {stage.base}: not replayed")
            state = _StageState(root=self.work / f"stage{index}-{stage.name or 'final'}")
            state.root.mkdir(parents=True)
            for instruction in stage.instructions:
                self._step(state, instruction)
            self.states[stage.name or str(index)] = state
            self.states[str(index)] = state
        return Image(
            root=state.root,
            env={k: _rebase_value(v, state.root) for k, v in state.env.items()},
            entrypoint=[_rebase_value(w, state.root) for w in state.entrypoint],
            cmd=state.cmd,
            user=state.user,
        )

    def _step(self, state: _StageState, instruction: Instruction) -> None:
        keyword = instruction.keyword
        if keyword == "ENV":
            state.env.update(parse_env(instruction))
        elif keyword == "WORKDIR":
            state.workdir = str(PurePosixPath(state.workdir, instruction.value))
            under(state.root, state.workdir).mkdir(parents=True, exist_ok=True)
        elif keyword in {"COPY", "ADD"}:
            self._copy(state, instruction)
        elif keyword == "RUN":
            self._run(state, instruction)
        elif keyword == "ENTRYPOINT":
            state.entrypoint = _exec_form(instruction)
        elif keyword == "CMD":
            state.cmd = _exec_form(instruction)
        elif keyword == "USER":
            state.user = instruction.value
        elif keyword not in {"LABEL", "EXPOSE", "STOPSIGNAL"}:
            raise instruction.fail("the replay does not know this instruction")

    def _copy_args(self, instruction: Instruction) -> tuple[dict[str, str], list[str], str]:
        if instruction.keyword == "ADD":
            raise instruction.fail("use COPY (ADD fetches and unpacks: not replayed)")
        words = (
            _exec_form(instruction)
            if instruction.value.startswith("[")
            else shlex.split(instruction.value)
        )
        flags: dict[str, str] = {}
        while words and words[0].startswith("--"):
            key, _, value = words.pop(0)[2:].partition("=")
            if key not in {"from", "chown", "link"}:
                raise instruction.fail(f"--{key}: not replayed")
            flags[key] = value
        if len(words) < 2:
            raise instruction.fail("needs a source and a destination")
        return flags, words[:-1], words[-1]

    def _matches(self, instruction: Instruction, source: str) -> list[str]:
        """The context entries (files or directories) ``source`` names."""
        name = os.path.normpath(source).lstrip("/")
        if name in self.dirs or name in self.files:
            return [name]
        if any(c in name for c in "*?["):
            regex = re.compile(_glob_regex(name))
            found = [n for n in sorted(self.dirs | set(self.files)) if regex.fullmatch(n)]
            if found:
                return found
        raise instruction.fail(
            f"{source!r} is not in the build context (not in the repository, or excluded by"
            " .dockerignore)"
        )

    def _copy(self, state: _StageState, instruction: Instruction) -> None:
        flags, sources, dest = self._copy_args(instruction)
        target = under(state.root, str(PurePosixPath(state.workdir, dest)))
        many = len(sources) > 1 or dest.endswith("/")
        if "from" in flags:
            origin = self.states.get(flags["from"])
            if origin is None:
                raise instruction.fail(f"--from={flags['from']}: no such earlier stage")
            for source in sources:
                path = under(origin.root, str(PurePosixPath(origin.workdir, source)))
                if not path.exists():
                    raise instruction.fail(f"{source!r} does not exist in stage {flags['from']}")
                self._put(path, target, many)
            return
        for source in sources:
            for name in self._matches(instruction, source):
                if name in self.dirs:
                    # A directory's contents, as far as the context holds them.
                    prefix = "" if name == "." else name + "/"
                    for file in self.files:
                        if file.startswith(prefix):
                            self._put(self.context / file, target / file[len(prefix) :], False)
                else:
                    self._put(self.context / name, target, many or len(sources) > 1)

    @staticmethod
    def _put(path: Path, target: Path, into: bool) -> None:
        if path.is_dir():
            shutil.copytree(path, target, symlinks=True, dirs_exist_ok=True)
            return
        destination = target / path.name if into or target.is_dir() else target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)

    def _run(self, state: _StageState, instruction: Instruction) -> None:
        if instruction.value.startswith("["):
            argv = [_rebase_value(w, state.root) for w in _exec_form(instruction)]
        else:
            argv = ["/bin/sh", "-c", rebase_words(instruction.value, state.root)]
        # The machine's environment reaches its package index (pip's configuration); the
        # interpreter's own variables would not be in a build container.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PYTHON") and k not in {"VIRTUAL_ENV", "PIP_TARGET", "PIP_USER"}
        }
        env.update({k: _rebase_value(v, state.root) for k, v in state.env.items()})
        env["PATH"] = f"{self.shims}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
        done = subprocess.run(
            argv,
            cwd=under(state.root, state.workdir),
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
            raise instruction.fail(f"exit {done.returncode}\n{tail}")


def replay(dockerfile: Path, context: Path, work: Path) -> Image:
    """Build ``dockerfile`` from ``context`` under ``work`` (empty); the final stage's image."""
    return Replay(dockerfile, context, work).run()


def excluded_by(pattern_text: str, name: str) -> bool:
    """Whether a ``.dockerignore`` of ``pattern_text`` keeps ``name`` out (for the tests)."""
    return ignored(name, read_dockerignore(pattern_text))

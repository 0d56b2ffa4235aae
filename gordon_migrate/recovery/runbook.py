"""``docs/spof-runbook.md`` as data: the recovery steps and the failure-mode table.

The file is the single source: the TUI shows it, ``diagnose`` walks its steps and matches
error lines against the symptoms of its table, and the tests read the same table. Its shape:

- ``## Recovery procedure`` holds ``### Step N: title`` sections, each with a ``Probe: `name```
  line (the probe that checks it) and a ``Failure modes: FM-01, FM-02`` line;
- ``## Failure modes`` holds one table whose columns include ID, Failure mode, Symptom, Cause,
  Confirm, Recovery, Prevention and Tested. Every `code` fragment of a symptom cell is text the
  tool prints, and identifies that failure mode on its own;
- ``### FM-NN: name`` sections (optional) hold a failure mode's longer playbook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gordon_migrate.core.bundle import bundled_path
from gordon_migrate.core.errors import RecoveryError

RUNBOOK_NAME = "spof-runbook.md"
PROCEDURE_HEADING = "Recovery procedure"
TABLE_HEADING = "Failure modes"
COLUMNS = ("id", "failure mode", "symptom", "cause", "confirm", "recovery", "prevention", "tested")

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_STEP = re.compile(r"^Step (\d+):\s*(.+)$")
_FM_ID = re.compile(r"^FM-\d{2,}$")
_FM_SECTION = re.compile(r"^FM-(\d{2,})(?: to FM-(\d{2,}))?\b")
_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class FailureMode:
    """One row of the failure-mode table (cells as written, in Markdown)."""

    id: str
    name: str
    symptom: str
    cause: str
    confirm: str
    recovery: str
    prevention: str
    tested_cell: str
    #: The heading to follow: the failure mode's own section, else the table's.
    section: str
    #: Markdown of the failure mode's own section ("" when it has none).
    playbook: str = ""

    @property
    def fragments(self) -> tuple[str, ...]:
        """The printed text quoted in the symptom: any one of them identifies this mode."""
        return tuple(dict.fromkeys(_CODE.findall(self.symptom)))

    @property
    def tested(self) -> bool:
        """True when the test suite provokes it for real ("yes" in the Tested column)."""
        return self.tested_cell.strip().lower().startswith("yes")

    def matches(self, text: str) -> bool:
        return any(fragment in text for fragment in self.fragments)


@dataclass(frozen=True)
class Step:
    """One step of the recovery procedure."""

    number: int
    title: str
    heading: str
    #: Name of the probe that checks this step (``probes.PROBES``), if any.
    probe: str | None
    failure_modes: tuple[str, ...]
    #: Markdown of the step, without its heading.
    body: str


@dataclass(frozen=True)
class Section:
    level: int
    heading: str
    body: str


@dataclass(frozen=True)
class Runbook:
    """The parsed runbook, with the text it was parsed from."""

    text: str
    path: Path | None
    sections: tuple[Section, ...]
    steps: tuple[Step, ...]
    failure_modes: tuple[FailureMode, ...]

    def failure_mode(self, fm_id: str) -> FailureMode:
        for mode in self.failure_modes:
            if mode.id == fm_id:
                return mode
        raise KeyError(fm_id)

    def step_for_probe(self, probe: str) -> Step:
        for step in self.steps:
            if step.probe == probe:
                return step
        raise KeyError(probe)

    def match(self, text: str) -> tuple[FailureMode, ...]:
        """Every failure mode whose symptom appears in ``text`` (an error line), table order."""
        return tuple(mode for mode in self.failure_modes if mode.matches(text))

    def section(self, heading: str) -> Section:
        for section in self.sections:
            if section.heading == heading:
                return section
        raise KeyError(heading)


def runbook_path() -> Path:
    """The runbook shipped in the wheel or, in a source checkout, the repository's."""
    return bundled_path("docs", RUNBOOK_NAME)


@cache
def load(path: Path | None = None) -> Runbook:
    """Read and parse the runbook (default: the bundled one); cached per path."""
    where = path or runbook_path()
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecoveryError(
            f"cannot read the runbook {where}: {exc.strerror or exc}; this installation of "
            "gordon-migrate is incomplete (docs/spof-runbook.md is bundled in the wheel)"
        ) from None
    return parse(text, where)


def parse(text: str, path: Path | None = None) -> Runbook:
    """Parse runbook Markdown; ``RecoveryError`` names what is malformed."""
    sections = _sections(text)
    playbooks: dict[str, Section] = {}
    for section in sections:
        match = _FM_SECTION.match(section.heading)
        if section.level >= 3 and match:
            first, last = int(match[1]), int(match[2] or match[1])
            width = len(match[1])
            for number in range(first, last + 1):
                playbooks[f"FM-{number:0{width}d}"] = section
    table = _only(sections, TABLE_HEADING)
    modes = tuple(_failure_mode(row, playbooks.get(row["id"])) for row in _table_rows(table.body))
    ids = [m.id for m in modes]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RecoveryError(f"runbook: failure mode ids used twice: {', '.join(duplicates)}")
    steps = _steps(sections)
    unknown = sorted({i for s in steps for i in s.failure_modes} - set(ids))
    if unknown:
        raise RecoveryError(f"runbook: steps name unknown failure modes: {', '.join(unknown)}")
    return Runbook(text=text, path=path, sections=sections, steps=steps, failure_modes=modes)


def _sections(text: str) -> tuple[Section, ...]:
    """Every heading with the Markdown under it (up to the next heading of any level);
    lines inside fenced code blocks are never headings."""
    out: list[Section] = []
    current: tuple[int, str] | None = None
    body: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        if current is not None:
            out.append(Section(current[0], current[1], "\n".join(body).strip("\n")))
        current = (len(match[1]), match[2])
        body = []
    if current is not None:
        out.append(Section(current[0], current[1], "\n".join(body).strip("\n")))
    return tuple(out)


def _only(sections: tuple[Section, ...], heading: str) -> Section:
    found = [s for s in sections if s.heading == heading]
    if len(found) != 1:
        raise RecoveryError(f"runbook: expected one section {heading!r}, found {len(found)}")
    return found[0]


def _steps(sections: tuple[Section, ...]) -> tuple[Step, ...]:
    procedure = _only(sections, PROCEDURE_HEADING)
    start = sections.index(procedure)
    steps: list[Step] = []
    for section in sections[start + 1 :]:
        if section.level <= procedure.level:
            break
        match = _STEP.match(section.heading)
        if section.level != procedure.level + 1 or match is None:
            continue
        probe = _field(section.body, "Probe")
        modes = _field(section.body, "Failure modes") or ""
        steps.append(
            Step(
                number=int(match[1]),
                title=match[2],
                heading=section.heading,
                probe=_CODE.sub(r"\1", probe).strip() if probe else None,
                failure_modes=tuple(re.findall(r"FM-\d{2,}", modes)),
                body=section.body,
            )
        )
    numbers = [s.number for s in steps]
    if numbers != list(range(1, len(steps) + 1)):
        raise RecoveryError(f"runbook: steps are numbered {numbers}, expected 1..{len(steps)}")
    return tuple(steps)


def _field(body: str, name: str) -> str | None:
    match = re.search(rf"^{re.escape(name)}:\s*(.+)$", body, re.MULTILINE)
    return match[1].strip() if match else None


def _cells(line: str) -> list[str]:
    """Split a table row on ``|``, except inside code spans or when escaped."""
    cells: list[str] = []
    cell: list[str] = []
    in_code = False
    escaped = False
    for char in line.strip().strip("|"):
        if escaped:
            cell.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
            cell.append(char)
        elif char == "`":
            in_code = not in_code
            cell.append(char)
        elif char == "|" and not in_code:
            cells.append("".join(cell).strip())
            cell = []
        else:
            cell.append(char)
    cells.append("".join(cell).strip())
    return [c.replace("\\|", "|") for c in cells]


def _table_rows(body: str) -> list[dict[str, str]]:
    lines = [line for line in body.splitlines() if line.lstrip().startswith("|")]
    if len(lines) < 3:
        raise RecoveryError("runbook: the failure-mode table is missing or empty")
    header = [_column(c) for c in _cells(lines[0])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RecoveryError(f"runbook: the failure-mode table lacks columns {missing}")
    rows = []
    for line in lines[2:]:
        cells = _cells(line)
        if len(cells) != len(header):
            raise RecoveryError(
                f"runbook: table row has {len(cells)} cells, expected {len(header)}: {line[:60]}"
            )
        row = dict(zip(header, cells, strict=True))
        if not _FM_ID.match(row["id"]):
            raise RecoveryError(f"runbook: {row['id']!r} is not a failure mode id (FM-NN)")
        rows.append(row)
    return rows


def _column(title: str) -> str:
    """``Symptom (as printed)`` -> ``symptom``."""
    return re.sub(r"\s*\(.*\)$", "", title).strip().lower()


def _failure_mode(row: dict[str, str], playbook: Section | None) -> FailureMode:
    return FailureMode(
        id=row["id"],
        name=row["failure mode"],
        symptom=row["symptom"],
        cause=row["cause"],
        confirm=row["confirm"],
        recovery=row["recovery"],
        prevention=row["prevention"],
        tested_cell=row["tested"],
        section=playbook.heading if playbook else TABLE_HEADING,
        playbook=playbook.body if playbook else "",
    )

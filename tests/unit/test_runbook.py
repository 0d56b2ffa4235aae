"""docs/spof-runbook.md as the tool reads it: its steps are the probes, its table is complete,
and every pointer into it (engine messages, migrations, links) lands on something."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gordon_migrate.core.errors import RecoveryError
from gordon_migrate.recovery import probes, runbook

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = runbook.load()


def test_the_runbook_read_is_the_repository_file() -> None:
    assert runbook.runbook_path() == ROOT / "docs" / "spof-runbook.md"
    assert RUNBOOK.text == (ROOT / "docs" / "spof-runbook.md").read_text(encoding="utf-8")


def test_steps_are_the_probes_in_order() -> None:
    with_probe = [s.probe for s in RUNBOOK.steps if s.probe is not None]
    assert with_probe == [p.name for p in probes.PROBES]
    assert RUNBOOK.steps[-1].probe is None, "the last step re-runs the deploy"


def test_failure_modes_a_probe_names_are_listed_under_its_step() -> None:
    named = {
        "migration_lock": {probes.FM_LOCK_HELD},
        "blocking_sessions": {probes.FM_TABLE_LOCK},
        "pending": set(probes.FM_PENDING),
        "drift": set(probes.FM_DRIFT.values()),
    }
    for probe_name, ids in named.items():
        assert ids <= set(RUNBOOK.step_for_probe(probe_name).failure_modes), probe_name


def test_failure_modes_are_numbered_in_order_and_complete() -> None:
    ids = [m.id for m in RUNBOOK.failure_modes]
    assert ids == [f"FM-{n:02d}" for n in range(1, len(ids) + 1)]
    for mode in RUNBOOK.failure_modes:
        for column in ("name", "symptom", "cause", "confirm", "recovery", "prevention"):
            assert getattr(mode, column).strip(), f"{mode.id} has an empty {column}"
        assert mode.tested_cell.startswith(("yes", "no: ")), mode.id


def test_every_failure_mode_is_under_a_step() -> None:
    listed = {i for s in RUNBOOK.steps for i in s.failure_modes}
    unlisted = {m.id for m in RUNBOOK.failure_modes} - listed
    assert unlisted <= {"FM-27", "FM-28"}, "only the ones without an error line to match"


def test_tested_failure_modes_quote_a_symptom() -> None:
    for mode in RUNBOOK.failure_modes:
        if mode.tested:
            assert mode.fragments, f"{mode.id} is tested but quotes nothing the tool prints"


def test_every_pointer_from_the_code_and_migrations_names_a_failure_mode() -> None:
    sources = [
        *sorted((ROOT / "gordon_migrate" / "apply").glob("*.py")),
        *sorted((ROOT / "migrations").glob("*.sql")),
    ]
    pointers = {
        (source.name, name.strip())
        for source in sources
        for name in re.findall(
            r"docs/spof-runbook\.md,?\s*\(?([a-z][a-z ]+)", source.read_text(encoding="utf-8")
        )
    }
    assert pointers, "apply points operators at the runbook"
    for source, name in sorted(pointers):
        assert any(name in m.name for m in RUNBOOK.failure_modes), f"{source}: {name!r}"


def test_links_inside_the_runbook_resolve() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", s.heading.lower()).replace(" ", "-") for s in RUNBOOK.sections
    }
    links = re.findall(r"\]\(#([^)]+)\)", RUNBOOK.text)
    assert links
    assert set(links) <= anchors


def test_failure_mode_sections_are_attached() -> None:
    assert RUNBOOK.failure_mode("FM-13").section == "FM-13: dirty migration"
    assert "gordon-migrate repair NNNN --undone" in RUNBOOK.failure_mode("FM-13").playbook
    assert RUNBOOK.failure_mode("FM-23").section == "FM-21 to FM-24: drift (DP-08)"
    assert RUNBOOK.failure_mode("FM-04").section == runbook.TABLE_HEADING


def test_match_finds_the_failure_modes_of_an_error_line() -> None:
    line = (
        "migration 0035 (0035_fills_filled_at_index.sql) line 6 could not get its table lock: "
        "3 attempt(s) of lock_timeout=100ms over 1s (lock retry window 1s) all waited behind "
        "another session, blocked by pid 42 (psql, user report, from local socket, idle in "
        "transaction) holding AccessShareLock on trading.fills; this statement did not run; "
        "earlier statements of this no-transaction migration took effect and its history row "
        "is dirty: re-run apply once the blocker is gone, or see `gordon-migrate repair 35`"
    )
    assert [m.id for m in RUNBOOK.match(line)] == ["FM-13", "FM-17"]
    assert RUNBOOK.match("all good") == ()


@pytest.mark.parametrize(
    ("log", "line"),
    [
        (
            '{"level": "info", "event": "x"}\n{"level": "error", "event": "boom", "kind": "x"}',
            "boom",
        ),
        ("gordon-migrate: error: boom\n", "boom"),
        ('gordon-migrate-1  | {"level": "error", "event": "boom"}\n', "boom"),
        ('{"level": "info", "event": "apply complete"}\n', None),
    ],
)
def test_error_line_of_an_apply_log(log: str, line: str | None) -> None:
    assert probes.error_line(log) == line


_MINIMAL = """# r
## Recovery procedure
### Step 1: one
Probe: `connect`
Failure modes: FM-01
## Failure modes
| ID | Failure mode | Symptom | Cause | Confirm | Recovery | Prevention | Tested |
|----|----|----|----|----|----|----|----|
| FM-01 | a | `x \\| y` or `z` | c | d | e | f | yes |
"""


def test_parse_a_minimal_runbook() -> None:
    book = runbook.parse(_MINIMAL)
    assert book.steps[0].probe == "connect"
    assert book.failure_mode("FM-01").fragments == ("x | y", "z")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("| FM-01 | a |", "| FM-1 | a |"), "is not a failure mode id"),
        (("Failure modes: FM-01", "Failure modes: FM-02"), "unknown failure modes"),
        (("| f | yes |", "| yes |"), "table row has 7 cells"),
        (("| Tested |", "| Tried |"), "lacks columns ['tested']"),
        (("### Step 1: one", "### Step 2: one"), "steps are numbered [2]"),
        (("## Failure modes", "## Modes"), "expected one section 'Failure modes'"),
    ],
)
def test_malformed_runbook_is_refused(change: tuple[str, str], message: str) -> None:
    with pytest.raises(RecoveryError, match=re.escape(message)):
        runbook.parse(_MINIMAL.replace(*change))


def test_missing_runbook_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecoveryError, match="this installation of gordon-migrate is incomplete"):
        runbook.load(tmp_path / "nope.md")

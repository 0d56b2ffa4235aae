"""The lint corpus (tests/lint_corpus): realistic migrations against the v7 schema, most from the
shapes of real migrations in public projects (a ``-- shape:`` line cites the source). Each file
carries two headers: ``-- expect:``, the rule ids gordon-migrate raises today (asserted exactly,
so a change in what lint says is seen), and ``-- hazard:``, the reviewer's judgment of the file
independent of any tool (``none`` for a safe change). bench/bench_lint.py scores both linters
against ``-- hazard:``, so a hazard lint lets through is counted there as missed. Each file
applies cleanly on a v7 clone (so the corpus is real SQL, not strings that merely parse)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gordon_migrate.core import bundle
from gordon_migrate.core.bundle import Migration
from gordon_migrate.lint import lint
from gordon_migrate.sql.split import split
from gordon_migrate.testing import GordonDatabase

CORPUS = Path(__file__).parent / "lint_corpus"
FILES = sorted(CORPUS.glob("*.sql"))


def expected(path: Path) -> set[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- expect:"):
            value = line.removeprefix("-- expect:").strip()
            return set() if value == "(none)" else set(value.split())
    raise AssertionError(f"{path.name} has no -- expect: header")


def hazard(path: Path) -> str | None:
    """The reviewer's class of hazard, or None for a safe change."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- hazard:"):
            value = line.removeprefix("-- hazard:").strip()
            assert value, f"{path.name} has an empty -- hazard: header"
            return None if value == "none" else value
    raise AssertionError(f"{path.name} has no -- hazard: header")


def as_migration(path: Path) -> Migration:
    version, description = bundle.parse_name(path.name, path.parent)
    return Migration(version, description, path, path.read_bytes())


def test_corpus_is_big_enough_and_mixed() -> None:
    assert len(FILES) >= 100
    safe = [p for p in FILES if hazard(p) is None]
    assert len(safe) >= 40
    assert len(FILES) - len(safe) >= 40


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_corpus_file_has_both_headers(path: Path) -> None:
    expected(path)
    hazard(path)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_corpus_file_lints_to_its_header(path: Path) -> None:
    report = lint([as_migration(path)], bundle.load())
    found = {f.rule for f in report.findings if not f.waived}
    assert found == expected(path)
    assert report.ok == (not any(f.counts for f in report.findings))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_corpus_file_applies_on_a_v7_clone(gordon_db: GordonDatabase, path: Path) -> None:
    migration = as_migration(path)
    with gordon_db.connect() as conn:
        if migration.no_transaction:
            for statement in split(migration.sql):
                conn.execute(statement.text.encode())
        else:
            with conn.transaction():
                for statement in split(migration.sql):
                    conn.execute(statement.text.encode())

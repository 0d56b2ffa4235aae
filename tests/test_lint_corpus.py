"""The lint corpus (tests/lint_corpus): realistic migrations against the v7 schema, each with
the rule ids it must raise in its ``-- expect:`` header. Each applies cleanly on a v7 clone
(so the corpus is real SQL, not strings that merely parse), and lints to exactly its header."""

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


def as_migration(path: Path) -> Migration:
    version, description = bundle.parse_name(path.name, path.parent)
    return Migration(version, description, path, path.read_bytes())


def test_corpus_is_big_enough_and_mixed() -> None:
    assert len(FILES) >= 30
    safe = [p for p in FILES if not expected(p)]
    assert len(safe) >= 10
    assert len(FILES) - len(safe) >= 20


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

"""Every lint rule is one unit (``gordon_migrate/lint/rules/``): its cases run here, the
registry finds a new module without any other edit, and a rule that crashes is reported without
hiding the others. Static: no server."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.errors import InternalError, LintError
from gordon_migrate.lint import LintReport, lint
from gordon_migrate.lint import rules as rules_package
from gordon_migrate.lint.rules import Facts, Hit, Rule, Site, build, discover, registry
from tests.support.cli import CliRunner

RULES = registry()
README = Path(__file__).parents[2] / "README.md"


def lint_sql(sql: str, name: str = "0999_case.sql") -> LintReport:
    """``sql`` as the next migration after an empty bundle: every relation it does not create
    is an existing table."""
    path = Path("/nonexistent") / name
    return lint([Migration(999, "case", path, sql.encode("utf-8"))], [])


CASES = [
    pytest.param(rule.id, sql, fails, id=f"{rule.id}-{'fails' if fails else 'passes'}-{i}")
    for rule in RULES.values()
    for fails, cases in ((True, rule.fails), (False, rule.passes))
    for i, sql in enumerate(cases)
]


@pytest.mark.parametrize(("rule_id", "sql", "fails"), CASES)
def test_rule_case(rule_id: str, sql: str, fails: bool) -> None:
    found = [f.rule for f in lint_sql(sql).findings if not f.waived]
    if fails:
        assert rule_id in found, f"{rule_id} must fail on:\n{sql}\nfound {found}"
    else:
        assert rule_id not in found, f"{rule_id} must pass:\n{sql}\nfound {found}"


def test_every_rule_has_its_cases_and_doc() -> None:
    for rule in RULES.values():
        assert rule.passes, rule.id
        # internal-error has no SQL that fails: a crashing rule does (test below); a rule over
        # rehearsal facts fails on a server (tests/test_lint_access.py).
        assert rule.fails or rule.rehearsed or rule.id == "internal-error", rule.id
        assert rule.summary and rule.why and rule.fix, rule.id


def test_each_module_is_its_rule() -> None:
    package = Path(rules_package.__file__ or "").parent
    modules = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    assert modules == {rule_id.replace("-", "_") for rule_id in RULES}


def _rule(rule_id: str, order: int) -> Rule:
    return Rule(rule_id, order, "error", "s", "w", "f", ("SELECT 1;",), ("SELECT 1;",))


def test_registry_refuses_a_duplicate_id_or_order_or_a_misnamed_module() -> None:
    with pytest.raises(InternalError, match="'a-rule' is defined twice"):
        build([("a_rule", _rule("a-rule", 1)), ("a_rule", _rule("a-rule", 2))])
    with pytest.raises(InternalError, match="same order 1"):
        build([("a_rule", _rule("a-rule", 1)), ("b_rule", _rule("b-rule", 1))])
    with pytest.raises(InternalError, match=r"name the module b_rule\.py"):
        build([("a_rule", _rule("b-rule", 1))])


NEW_RULE = '''
"""no-comment: COMMENT ON an existing object (a rule written for this test)."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from gordon_migrate.lint.rules import Hit, Rule, Site


def check(site: Site, facts: object) -> Iterator[Hit]:
    if isinstance(site.node, ast.CommentStmt):
        yield Hit("COMMENT ON a live object")


RULE = Rule(
    id="no-comment",
    order=9000,
    severity="error",
    summary="COMMENT ON",
    why="comments belong in the schema docs",
    fix="document it there",
    fails=("COMMENT ON TABLE trading.fills IS 'fills';",),
    passes=("SELECT 1;",),
    sites=frozenset({"statement"}),
    check=check,
)
'''


@pytest.fixture
def extra_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Rule]]:
    """The live registry, to which a test adds a rule (undone after the test)."""
    live = registry()
    added: dict[str, Rule] = {}
    yield added
    for rule_id in added:
        live.pop(rule_id, None)


def test_a_new_rule_is_one_new_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra_rules: dict[str, Rule]
) -> None:
    package = tmp_path / "more_rules"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "no_comment.py").write_text(textwrap.dedent(NEW_RULE), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover(str(package), "more_rules")
    assert list(found) == ["no-comment"]
    rule = found["no-comment"]
    registry()[rule.id] = extra_rules[rule.id] = rule
    report = lint_sql(rule.fails[0])
    assert [f.rule for f in report.findings] == ["no-comment"]
    assert not any(f.rule == "no-comment" for f in lint_sql(rule.passes[0]).findings)
    sys.modules.pop("more_rules.no_comment", None)
    sys.modules.pop("more_rules", None)


def _crash(site: Site, facts: Facts) -> Iterator[Hit]:
    node = site.node
    if type(node).__name__ == "UpdateStmt":
        raise KeyError("boom")  # a real bug: a lookup that fails on this statement
    yield from ()


CRASHING = Rule(
    id="crashes-on-update",
    order=9001,
    severity="error",
    summary="test rule that raises on UPDATE",
    why="w",
    fix="f",
    fails=(),
    passes=("SELECT 1;",),
    sites=frozenset({"statement"}),
    check=_crash,
)

CRASH_SQL = (
    "ALTER TABLE trading.fills DROP COLUMN venue;\n"
    "\n"
    "UPDATE trading.fills SET price = 0;\n"
    "LOCK TABLE trading.fills;\n"
)


def test_a_crashing_rule_is_an_internal_error_and_hides_nothing(
    extra_rules: dict[str, Rule],
) -> None:
    registry()[CRASHING.id] = extra_rules[CRASHING.id] = CRASHING
    report = lint_sql(CRASH_SQL)
    seen = [(f.line, f.rule) for f in report.findings]
    assert seen == [
        (1, "drop-column"),
        (3, "backfill-under-lock"),
        (3, "internal-error"),
        (4, "lock-table"),
    ]
    crash = next(f for f in report.findings if f.rule == "internal-error")
    assert crash.location == "0999_case.sql:3:1"
    assert "rule crashes-on-update crashed on `UPDATE trading.fills SET price = 0`" in (
        crash.message
    )
    assert "KeyError" in crash.message
    assert crash.counts and not report.ok


def test_a_crashing_rule_through_the_cli(
    cli: CliRunner, tmp_path: Path, extra_rules: dict[str, Rule]
) -> None:
    registry()[CRASHING.id] = extra_rules[CRASHING.id] = CRASHING
    path = tmp_path / "0999_crash.sql"
    path.write_text(CRASH_SQL, encoding="utf-8")
    result = cli("lint", str(path))
    assert result.code == 1
    assert f"{path}:3:1  internal-error  error  rule crashes-on-update crashed" in result.out
    assert f"{path}:1:1  drop-column" in result.out
    assert f"{path}:4:1  lock-table" in result.out
    assert "Traceback" not in result.out + result.err


def test_a_file_that_does_not_parse_is_one_finding_with_the_parsers_message() -> None:
    report = lint_sql("SELECT 1;\n\nALTER TABLE trading.fills DROP COLUMN venue;\nSELEC 2;\n")
    assert [(f.rule, f.line) for f in report.findings] == [("syntax-error", 4)]
    assert 'syntax error at or near "SELEC"' in report.findings[0].message


def test_waivers_naming_no_rule_or_no_reason_stay_errors() -> None:
    report = lint_sql(
        "-- gordon:allow drop-colum the venue column is unused\n"
        "ALTER TABLE trading.fills DROP COLUMN venue;\n"
        "-- gordon:allow drop-column\n"
        "ALTER TABLE trading.fills DROP COLUMN side;\n"
    )
    counted = {(f.line, f.rule) for f in report.findings if f.counts}
    assert counted == {
        (1, "waiver-unknown-rule"),
        (2, "drop-column"),
        (3, "waiver-without-reason"),
        (4, "drop-column"),
    }


def test_a_baseline_naming_an_unknown_rule_stops_lint() -> None:
    path = Path("/nonexistent/0999_case.sql")
    migration = Migration(999, "case", path, b"SELECT 1;\n")
    stale = frozenset({("0999_case.sql", "00", 3, "drop-colum")})
    with pytest.raises(LintError, match=r"unknown rule 'drop-colum' \(0999_case.sql:3\)"):
        lint([migration], [], baseline=stale)


STATEMENT = "ALTER TABLE trading.fills DROP COLUMN venue;\n"


def _fingerprint(sql: str, name: str = "0999_case.sql") -> str:
    (finding,) = [f for f in lint_sql(sql, name).findings if f.rule == "drop-column"]
    return finding.fingerprint


def test_fingerprint_survives_a_move_not_a_change() -> None:
    before = _fingerprint("SELECT 1;\n" + STATEMENT)
    moved = _fingerprint("SELECT 1;\n" + "SELECT 2;\n" * 5 + STATEMENT)
    assert moved == before
    restyled = _fingerprint(
        "SELECT 1;\n-- why\nalter   table trading.fills\n  drop column /* old */ VENUE;\n"
    )
    assert restyled == before
    assert _fingerprint("SELECT 1;\nALTER TABLE trading.fills DROP COLUMN side;\n") != before
    assert _fingerprint(STATEMENT, "0998_other.sql") != before
    assert len(before) == 32


def test_readme_rule_table_is_generated_from_the_registry() -> None:
    from gordon_migrate.lint import ci

    text = README.read_text(encoding="utf-8")
    assert ci.with_table(text, ci.readme_table(RULES)) == text, (
        "the README's lint rule table is stale: run `python -m gordon_migrate.lint.ci README.md`"
    )


def test_a_baseline_naming_an_unknown_rule_fails_the_command(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "0999_case.sql"
    path.write_text(STATEMENT, encoding="utf-8")
    stale = tmp_path / "baseline.txt"
    stale.write_text("# stale\n0001_x.sql:4:1\tindex-not-concurent\tabcd\n", encoding="utf-8")
    result = cli("lint", "--baseline", str(stale), str(path))
    assert result.code == 1
    assert result.out == ""
    assert result.error_line == (
        "the lint baseline names an unknown rule 'index-not-concurent' (0001_x.sql:4): "
        "regenerate it with `gordon-migrate lint --write-baseline` and review the diff"
    )
    assert stale.read_text(encoding="utf-8").endswith("index-not-concurent\tabcd\n")

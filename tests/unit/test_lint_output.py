"""``lint`` for CI and for a reader of one rule: SARIF 2.1.0 (validated against the published
schema), GitHub workflow annotations, ``--explain``. Static: no server."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft4Validator

from gordon_migrate.lint import ci
from gordon_migrate.lint.model import Finding, LintReport
from tests.support.cli import CliRunner

SCHEMA = Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json"

MIGRATION = (
    "-- gordon:allow drop-column the venue column is unused since api 7.4\n"
    "ALTER TABLE trading.fills DROP COLUMN venue;\n"
    "CREATE INDEX fills_side ON trading.fills (side);\n"
    "ALTER TABLE trading.fills RENAME COLUMN price TO px;\n"
)


def _write(tmp_path: Path, text: str = MIGRATION) -> Path:
    path = tmp_path / "0999_fills.sql"
    path.write_text(text, encoding="utf-8")
    return path


def test_sarif_is_valid_and_carries_rules_results_and_fingerprints(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = _write(tmp_path)
    result = cli("lint", "--format", "sarif", str(path))
    assert result.code == 1
    log = json.loads(result.out)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = [e.message for e in Draft4Validator(schema).iter_errors(log)]
    assert errors == []
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules][:2] == ["index-not-concurrent", "concurrently-in-transaction"]
    drop = next(r for r in rules if r["id"] == "drop-column")
    assert drop["fullDescription"]["text"].startswith("running services still select")
    assert drop["helpUri"] == "urn:gordon-migrate:lint:rule:drop-column"
    seen = {
        (
            r["ruleId"],
            r["level"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            bool(r.get("suppressions")),
        )
        for r in run["results"]
    }
    assert seen == {
        ("drop-column", "error", str(path), 2, True),
        ("index-not-concurrent", "error", str(path), 3, False),
        ("rename-column", "error", str(path), 4, False),
    }
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert len(r["partialFingerprints"]["gordonStatement/v1"]) == 32
    waived = next(r for r in run["results"] if r["ruleId"] == "drop-column")
    assert waived["suppressions"] == [
        {"kind": "inSource", "justification": "the venue column is unused since api 7.4"}
    ]


def test_sarif_of_a_clean_file_is_valid_with_no_results(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, "SELECT 1;\n")
    result = cli("lint", "--format", "sarif", str(path))
    assert result.code == 0
    log = json.loads(result.out)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert list(Draft4Validator(schema).iter_errors(log)) == []
    assert log["runs"][0]["results"] == []


def test_json_and_sarif_fingerprints_agree_and_survive_a_move(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = _write(tmp_path)
    as_json = json.loads(cli("lint", "--format", "json", str(path)).out)
    by_rule = {f["rule"]: f["fingerprint"] for f in as_json["findings"]}
    moved = _write(tmp_path, "\n\n\n\n\n" + MIGRATION)
    sarif = json.loads(cli("lint", "--format", "sarif", str(moved)).out)
    for r in sarif["runs"][0]["results"]:
        assert r["partialFingerprints"]["gordonStatement/v1"] == by_rule[r["ruleId"]]
        assert r["locations"][0]["physicalLocation"]["region"]["startLine"] > 5


def test_github_annotations(cli: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path)
    result = cli("lint", "--format", "github", str(path))
    assert result.code == 1
    lines = result.out.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    # The waived drop-column is not annotated.
    assert [c.split("::")[1] for c in commands] == [
        f"error file={path},line=3,col=1,title=index-not-concurrent",
        f"error file={path},line=4,col=1,title=rename-column",
    ]
    assert (
        commands[0]
        .split("::", 2)[2]
        .startswith(
            "CREATE INDEX fills_side on existing table trading.fills without CONCURRENTLY%0Awhy: "
        )
    )
    assert lines[-1] == "1 file(s): 2 error(s) that fail the lint"


def test_github_escapes_data_and_properties() -> None:
    finding = Finding(
        file="a,b:c%.sql",
        line=7,
        col=2,
        rule="waiver-unused",
        severity="warning",
        message="100% sure\r\nnot",
        why="w",
        fix="f",
    )
    text = ci.report_github(LintReport(files=["a,b:c%.sql"], findings=[finding]))
    assert text.splitlines()[0] == (
        "::warning file=a%2Cb%3Ac%25.sql,line=7,col=2,title=waiver-unused::"
        "100%25 sure%0D%0Anot%0Awhy: w%0Afix: f"
    )


def test_explain_prints_the_rules_doc_and_cases(cli: CliRunner) -> None:
    result = cli("lint", "--explain", "set-not-null-without-check")
    assert result.code == 0
    out = result.out
    assert out.startswith("set-not-null-without-check  (error)\n")
    assert "why: SET NOT NULL scans the whole table" in out
    assert "safe rewrite: ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID" in out
    assert "fails:\n    ALTER TABLE trading.fills ALTER COLUMN venue SET NOT NULL;" in out
    assert "passes:\n    CREATE TABLE trading.notes (body text);" in out


def test_explain_of_an_unknown_rule_is_one_line_naming_the_nearest(cli: CliRunner) -> None:
    result = cli("lint", "--explain", "drop-colum")
    assert result.code == 1
    assert result.out == ""
    assert result.error_line == (
        "lint --explain: no rule 'drop-colum' (nearest: drop-column, rename-column, drop-table)"
    )
    assert len(result.err.strip().splitlines()) == 1

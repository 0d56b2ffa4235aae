"""Lint output for CI and for people reading a rule: SARIF 2.1.0 (code scanning), GitHub
workflow annotations, ``--explain RULE`` and the README's rule table. Pure rendering: the
caller passes the registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gordon_migrate import __version__
from gordon_migrate.lint.model import Finding, LintReport
from gordon_migrate.lint.rules._base import Rule

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
#: The project publishes no web page: a rule's helpUri is an absolute URI that names it (what
#: SARIF requires), and its doc travels in the log itself (fullDescription, help) and in
#: ``gordon-migrate lint --explain RULE``.
HELP_URI = "urn:gordon-migrate:lint:rule"
#: The key of the fingerprint in ``partialFingerprints`` (versioned: a new normalization is a
#: new key, so code scanning does not match old alerts against a different hash).
FINGERPRINT_KEY = "gordonStatement/v1"

README_BEGIN = "<!-- lint-rules:begin (generated: python -m gordon_migrate.lint.ci README.md) -->"
README_END = "<!-- lint-rules:end -->"


def shown(report: LintReport, show_grandfathered: bool) -> list[Finding]:
    return [f for f in report.findings if show_grandfathered or not f.grandfathered]


def report_sarif(
    report: LintReport, rules: Mapping[str, Rule], *, show_grandfathered: bool = False
) -> dict[str, Any]:
    """One SARIF 2.1.0 log, one run: the registry as ``tool.driver.rules``; a waived or
    grandfathered finding is a result with a suppression (code scanning shows it closed)."""
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for f in shown(report, show_grandfathered):
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": f.severity,
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file},
                        "region": {"startLine": f.line, "startColumn": f.col},
                    }
                }
            ],
            "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        }
        suppressions = []
        if f.waived:
            suppressions.append({"kind": "inSource", "justification": f.waiver_reason or ""})
        if f.grandfathered:
            suppressions.append(
                {"kind": "external", "justification": "in the lint baseline (applied)"}
            )
        if suppressions:
            result["suppressions"] = suppressions
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "gordon-migrate lint",
                        "version": __version__,
                        "informationUri": "urn:gordon-migrate:lint",
                        "rules": [_sarif_rule(rule) for rule in rules.values()],
                    }
                },
                "results": results,
            }
        ],
    }


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": {"text": f"Safe rewrite: {rule.fix}"},
        "helpUri": f"{HELP_URI}:{rule.id}",
        "defaultConfiguration": {"level": rule.severity},
    }


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def report_github(report: LintReport, *, show_grandfathered: bool = False) -> str:
    """GitHub Actions workflow commands, one per finding that counts or warns (a waived one
    is not annotated), then the summary line."""
    lines = []
    for f in shown(report, show_grandfathered):
        if f.waived or f.grandfathered:
            continue
        props = ",".join(
            f"{key}={_escape_property(value)}"
            for key, value in (
                ("file", f.file),
                ("line", str(f.line)),
                ("col", str(f.col)),
                ("title", f.rule),
            )
        )
        message = f"{f.message}\nwhy: {f.why}\nfix: {f.fix}"
        lines.append(f"::{f.severity} {props}::{_escape_data(message)}")
    failing = len(report.failing)
    lines.append(f"{len(report.files)} file(s): {failing} error(s) that fail the lint")
    return "\n".join(lines)


def explain(rule: Rule) -> str:
    """``lint --explain RULE``: the whole rule, with a failing and a passing case."""
    lines = [
        f"{rule.id}  ({rule.severity})",
        f"  {rule.summary}",
        "",
        f"why: {rule.why}",
        f"safe rewrite: {rule.fix}",
    ]
    for title, cases in (("fails", rule.fails), ("passes", rule.passes)):
        if cases:
            lines += ["", f"{title}:"]
            lines += [f"    {line}" for line in cases[0].splitlines()]
    return "\n".join(lines)


def readme_table(rules: Mapping[str, Rule]) -> str:
    """The README's rule table, between its markers."""
    lines = [
        README_BEGIN,
        "| rule | severity | catches | safe rewrite |",
        "|---|---|---|---|",
    ]
    for rule in rules.values():
        cells = [f"`{rule.id}`", rule.severity, rule.summary, rule.fix]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append(README_END)
    return "\n".join(lines)


def with_table(readme: str, table: str) -> str:
    """``readme`` with the text between the markers replaced by ``table``."""
    begin = readme.index(README_BEGIN)
    end = readme.index(README_END) + len(README_END)
    return readme[:begin] + table + readme[end:]


def main(argv: list[str] | None = None) -> int:
    """``python -m gordon_migrate.lint.ci README.md``: rewrite the README's rule table."""
    import sys
    from pathlib import Path

    from gordon_migrate.lint.rules import registry

    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "README.md")
    text = path.read_text(encoding="utf-8")
    path.write_text(with_table(text, readme_table(registry())), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""drift-check as node_exporter textfile metrics, written atomically, on failure too.

Metrics (every one labelled ``database``):

- ``gordon_drift_check_up``: 1 when the database could be checked, 0 when it could not
  (no connection, unreadable catalogs, missing fixtures);
- ``gordon_drift_check_ok``: 1 when every check passed (only when up);
- ``gordon_drift_check_passed{check}``, ``gordon_drift_check_differences{check}``: per check
  (only when up);
- ``gordon_drift_check_duration_seconds``: this run;
- ``gordon_drift_check_last_run_timestamp_seconds``: this run, whatever its outcome;
- ``gordon_drift_check_last_completed_timestamp_seconds``: the last run that could check the
  database (carried over from the previous file when this one could not; 0 when never), which
  the staleness alert watches.
"""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from gordon_migrate.core.errors import DriftError
from gordon_migrate.drift.model import DriftReport

PREFIX = "gordon_drift_check"
LAST_COMPLETED = f"{PREFIX}_last_completed_timestamp_seconds"


def previous_completion(path: Path, database: str) -> float:
    """``last_completed`` from the file a previous run wrote (0 when none or unreadable)."""
    try:
        text = path.read_text(encoding="utf-8")
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == LAST_COMPLETED and sample.labels.get("database") == database:
                    return float(sample.value)
    except (OSError, ValueError):
        return 0.0
    return 0.0


def write_textfile(
    path: Path,
    report: DriftReport | None,
    *,
    database: str,
    duration_s: float,
    now: float | None = None,
) -> None:
    """Write the metrics of one run to ``path`` (temporary file + rename).

    ``report`` is ``None`` when the database could not be checked.
    """
    at = time.time() if now is None else now
    registry = CollectorRegistry()
    labels = {"database": database}

    def gauge(name: str, doc: str, value: float) -> None:
        Gauge(f"{PREFIX}_{name}", doc, list(labels), registry=registry).labels(**labels).set(value)

    gauge(
        "up",
        "1 when drift-check could check the database, 0 when it could not.",
        1 if report else 0,
    )
    gauge("duration_seconds", "Duration of the last drift-check run.", duration_s)
    gauge("last_run_timestamp_seconds", "When drift-check last ran, whatever its outcome.", at)
    completed = at if report is not None else previous_completion(path, database)
    gauge(
        "last_completed_timestamp_seconds",
        "When drift-check last completed a check of the database (0: never).",
        completed,
    )
    if report is not None:
        gauge("ok", "1 when every drift check passed.", 1 if report.ok else 0)
        passed = Gauge(
            f"{PREFIX}_passed",
            "1 when this drift check passed.",
            ["database", "check"],
            registry=registry,
        )
        differences = Gauge(
            f"{PREFIX}_differences",
            "Number of differences this drift check found.",
            ["database", "check"],
            registry=registry,
        )
        for check in report.checks:
            passed.labels(database=database, check=check.name).set(1 if check.ok else 0)
            differences.labels(database=database, check=check.name).set(len(check.differences))
    try:
        write_to_textfile(str(path), registry)
    except OSError as exc:
        raise DriftError(f"cannot write the metrics file {path}: {exc}") from None

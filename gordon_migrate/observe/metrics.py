"""apply as node_exporter textfile metrics, written atomically (temporary file + rename), on
failure too: a deploy gate that failed, or stopped succeeding, must be visible.

Every metric is labelled ``database``. Per migration of this run, ``version`` is the migration's
version: its values are bounded by the bundle (a few hundred at most over the tool's life, and
only the migrations one run applied appear in a file). ``kind`` and ``failure_mode`` come from
the error classes and the runbook's FM table, ``tool_version`` from the package: all bounded.
No label ever carries a message, a statement, a host or a user.

Imported only with ``--metrics-file``: prometheus_client is not on the plain apply path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector, CollectorRegistry

from gordon_migrate.errors import ConfigError
from gordon_migrate.observe.recorder import RunRecord

PREFIX = "gordon_migrate_apply"
LAST_SUCCESS = f"{PREFIX}_last_success_timestamp_seconds"
LAST_SUCCESS_BUNDLE = f"{PREFIX}_last_success_bundle_version"

#: Every metric the textfile can hold, with its help (the dashboard and the rules use these).
HELP: dict[str, str] = {
    "success": "1 when the last apply succeeded (migrations applied or already current), else 0.",
    "last_run_timestamp_seconds": "When apply last ran, whatever its outcome.",
    "last_success_timestamp_seconds": "When apply last succeeded (0: never).",
    "duration_seconds": "Wall time of the last apply run.",
    "migrations_applied": "Migrations the last run applied.",
    "migrations_pending": "Bundled migrations not applied after the last run.",
    "schema_version": "The highest applied migration version after the last run.",
    "bundle_version": "The highest migration version of the bundle the last run carried.",
    "last_success_bundle_version": "bundle_version of the last successful run (0: never).",
    "lock_wait_seconds": "Seconds the last run waited for the migration lock (another runner).",
    "lock_timeouts_total": "Attempts of the last run that hit lock_timeout on a table lock.",
    "lock_retries_total": "Attempts of the last run retried after a lock_timeout.",
    "stall_seconds_total": "Seconds the last run's statements queued for table locks (other "
    "sessions' queries can queue behind such a request that long).",
    "migration_duration_seconds": "Wall time of one migration of the last run, retries in.",
    "migration_lock_wait_seconds": "Seconds one migration of the last run waited on table "
    "locks held by other sessions (timed-out attempts and the pauses after them).",
    "migration_lock_retries_total": "Attempts of one migration of the last run retried after "
    "a lock_timeout.",
    "failure": "1, labelled with the error kind and runbook failure mode, when the last run "
    "failed.",
    "tool_info": "The gordon-migrate version that ran last (value 1).",
}
NAMES = tuple(f"{PREFIX}_{name}" for name in HELP)


def previous_success(path: Path, database: str) -> tuple[float, float]:
    """(last success timestamp, its bundle version) from the file a previous run wrote."""
    found = {LAST_SUCCESS: 0.0, LAST_SUCCESS_BUNDLE: 0.0}
    try:
        text = path.read_text(encoding="utf-8")
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in found and sample.labels.get("database") == database:
                    found[sample.name] = float(sample.value)
    except (OSError, ValueError):
        return 0.0, 0.0
    return found[LAST_SUCCESS], found[LAST_SUCCESS_BUNDLE]


class _RunCollector(Collector):
    def __init__(self, run: RunRecord, previous: tuple[float, float]) -> None:
        self.run = run
        self.previous = previous

    def collect(self) -> Iterator[Metric]:
        run = self.run
        db = run.database
        ok = run.outcome == "success"

        def gauge(name: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(f"{PREFIX}_{name}", HELP[name], labels=["database"])
            family.add_metric([db], value)
            return family

        def counter(name: str, value: float) -> CounterMetricFamily:
            # The family's name is given without _total: the sample gets it.
            family = CounterMetricFamily(
                f"{PREFIX}_{name.removesuffix('_total')}", HELP[name], labels=["database"]
            )
            family.add_metric([db], value)
            return family

        yield gauge("success", 1 if ok else 0)
        yield gauge("last_run_timestamp_seconds", run.finished_at)
        last_success, last_bundle = self.previous
        yield gauge("last_success_timestamp_seconds", run.finished_at if ok else last_success)
        yield gauge("duration_seconds", run.duration_s)
        yield gauge("migrations_applied", len(run.applied))
        if run.pending is not None:
            yield gauge("migrations_pending", run.pending)
        if run.schema_version is not None:
            yield gauge("schema_version", run.schema_version)
        yield gauge("bundle_version", run.bundle_version)
        yield gauge("last_success_bundle_version", run.bundle_version if ok else last_bundle)
        yield gauge("lock_wait_seconds", run.lock_wait_s)
        yield counter("lock_timeouts_total", run.lock_timeouts)
        yield counter("lock_retries_total", run.retries)
        yield counter("stall_seconds_total", run.stall_s)
        per_version = ["database", "version"]
        duration = GaugeMetricFamily(
            f"{PREFIX}_migration_duration_seconds",
            HELP["migration_duration_seconds"],
            labels=per_version,
        )
        lock_wait = GaugeMetricFamily(
            f"{PREFIX}_migration_lock_wait_seconds",
            HELP["migration_lock_wait_seconds"],
            labels=per_version,
        )
        retries = CounterMetricFamily(
            f"{PREFIX}_migration_lock_retries",
            HELP["migration_lock_retries_total"],
            labels=per_version,
        )
        for migration in run.migrations:
            version = [db, str(migration.version)]
            duration.add_metric(version, migration.duration_s)
            lock_wait.add_metric(version, migration.lock_wait_s)
            retries.add_metric(version, migration.retries)
        yield duration
        yield lock_wait
        yield retries
        if run.error is not None:
            failure = GaugeMetricFamily(
                f"{PREFIX}_failure", HELP["failure"], labels=["database", "kind", "failure_mode"]
            )
            failure.add_metric([db, run.error.kind, run.error.failure_mode or "none"], 1)
            yield failure
        info = GaugeMetricFamily(
            f"{PREFIX}_tool_info", HELP["tool_info"], labels=["database", "tool_version"]
        )
        info.add_metric([db, run.tool_version], 1)
        yield info


def render(run: RunRecord, previous: tuple[float, float] = (0.0, 0.0)) -> str:
    """The textfile's text (what ``write_textfile`` writes)."""
    from prometheus_client import generate_latest

    registry = CollectorRegistry()
    registry.register(_RunCollector(run, previous))
    return generate_latest(registry).decode("utf-8")


def write_textfile(path: Path, run: RunRecord) -> None:
    """Write the metrics of ``run`` to ``path`` atomically, carrying the last success over."""
    registry = CollectorRegistry()
    registry.register(_RunCollector(run, previous_success(path, run.database)))
    try:
        write_to_textfile(str(path), registry)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the metrics file {path}: {exc.strerror or exc}; "
            "the run itself is unaffected. Point --metrics-file at a writable directory"
        ) from None

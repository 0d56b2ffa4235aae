"""apply as node_exporter textfile metrics, written atomically (temporary file + rename), on
failure too: a deploy gate that failed, or stopped succeeding, must be visible.

Every metric is labelled ``database``. Per migration of this run, ``version`` is the migration's
version: its values are bounded by the bundle (a few hundred at most over the tool's life, and
only the migrations one run applied appear in a file). ``kind`` and ``failure_mode`` come from
the error classes and the runbook's FM table, ``tool_version`` from the package: all bounded.
No label ever carries a message, a statement, a host or a user.

The text exposition format is written here, not by prometheus_client: importing it costs
about 50 ms, a third of a no-op apply, and the format of a few gauges and counters is small.
``promtool check metrics`` and prometheus_client's own parser check what this writes (tests,
CI).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gordon_migrate.observe.output import write_atomically
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


@dataclass(frozen=True)
class Family:
    """One metric: its name (a counter's ends in ``_total``), type and samples."""

    name: str
    kind: str
    samples: Sequence[tuple[dict[str, str], float]]

    def lines(self) -> Iterator[str]:
        short = self.name.removeprefix(f"{PREFIX}_")
        # Text format 0.0.4, as node_exporter reads it: a counter's HELP and TYPE name it with
        # its _total (OpenMetrics would drop it; promtool insists on it here).
        yield f"# HELP {self.name} {_escape_help(HELP[short])}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in self.samples:
            shown = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
            yield f"{self.name}{{{shown}}} {_number(value)}"


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) or abs(value) >= 1e15 else f"{int(value)}"


def families(run: RunRecord, previous: tuple[float, float] = (0.0, 0.0)) -> list[Family]:
    """Every metric of ``run``; ``previous``: the last success (time, bundle) to carry over."""
    db = {"database": run.database}
    ok = run.outcome == "success"
    last_success, last_bundle = previous

    def one(name: str, value: float, kind: str = "gauge") -> Family:
        return Family(f"{PREFIX}_{name}", kind, [(db, value)])

    out = [
        one("success", 1 if ok else 0),
        one("last_run_timestamp_seconds", run.finished_at),
        one("last_success_timestamp_seconds", run.finished_at if ok else last_success),
        one("duration_seconds", run.duration_s),
        one("migrations_applied", len(run.applied)),
    ]
    if run.pending is not None:
        out.append(one("migrations_pending", run.pending))
    if run.schema_version is not None:
        out.append(one("schema_version", run.schema_version))
    out += [
        one("bundle_version", run.bundle_version),
        one("last_success_bundle_version", run.bundle_version if ok else last_bundle),
        one("lock_wait_seconds", run.lock_wait_s),
        one("lock_timeouts_total", run.lock_timeouts, "counter"),
        one("lock_retries_total", run.retries, "counter"),
        one("stall_seconds_total", run.stall_s, "counter"),
    ]
    per_version = [({**db, "version": str(m.version)}, m) for m in run.migrations]
    out += [
        Family(
            f"{PREFIX}_migration_duration_seconds",
            "gauge",
            [(labels, m.duration_s) for labels, m in per_version],
        ),
        Family(
            f"{PREFIX}_migration_lock_wait_seconds",
            "gauge",
            [(labels, m.lock_wait_s) for labels, m in per_version],
        ),
        Family(
            f"{PREFIX}_migration_lock_retries_total",
            "counter",
            [(labels, m.retries) for labels, m in per_version],
        ),
    ]
    if run.error is not None:
        labels = {**db, "kind": run.error.kind, "failure_mode": run.error.failure_mode or "none"}
        out.append(Family(f"{PREFIX}_failure", "gauge", [(labels, 1)]))
    out.append(
        Family(f"{PREFIX}_tool_info", "gauge", [({**db, "tool_version": run.tool_version}, 1)])
    )
    return out


def render(run: RunRecord, previous: tuple[float, float] = (0.0, 0.0)) -> str:
    """The textfile's text (what ``write_textfile`` writes)."""
    return "".join(f"{line}\n" for family in families(run, previous) for line in family.lines())


_SAMPLE = re.compile(r'^(\w+)\{database="((?:[^"\\]|\\.)*)"\} (\S+)$')


def previous_success(path: Path, database: str) -> tuple[float, float]:
    """(last success timestamp, its bundle version) from the file a previous run wrote
    (0, 0 when there is none, or it cannot be read)."""
    found = {LAST_SUCCESS: 0.0, LAST_SUCCESS_BUNDLE: 0.0}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0.0, 0.0
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match[1] in found and match[2] == _escape_label(database):
            try:
                found[match[1]] = float(match[3])
            except ValueError:
                continue
    return found[LAST_SUCCESS], found[LAST_SUCCESS_BUNDLE]


def write_textfile(path: Path, run: RunRecord) -> None:
    """Write the metrics of ``run`` to ``path`` atomically (a temporary file beside it, then
    a rename: node_exporter never reads half a file), carrying the last success over."""
    text = render(run, previous_success(path, run.database))
    # node_exporter runs as another user: the file is world-readable, as prometheus_client's
    # write_to_textfile leaves it.
    write_atomically(path, text, option="--metrics-file", mode=0o644)

"""OpenTelemetry traces of an apply run (the ``otel`` extra), when ``OTEL_*`` asks for them.

One span per run, per migration, per statement attempt (its text redacted like the logs, its
lock plan as attributes: measured and pinned, or static for a migration that is not), per lock
timeout (the blockers' pids and relations), and one for the wait for the migration lock. Spans
are kept in memory while the run goes (a run has at most a few thousand) and sent once, at its
end, over OTLP/HTTP from a thread of their own: the run waits at most ``FLUSH_BUDGET_S`` for
the collector. A collector that refuses, hangs or cannot be reached costs the run that much at
most, is named once in a warning, and never changes its outcome.

Only ``http/protobuf`` is spoken (``OTEL_EXPORTER_OTLP_PROTOCOL``); the endpoint, headers and
resource come from the standard variables (``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``,
``OTEL_EXPORTER_OTLP_[TRACES_]HEADERS``, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Span, Status, StatusCode

from gordon_migrate.apply.events import Observer
from gordon_migrate.observe.plan import MigrationLocks, lock_words, plan_locks
from gordon_migrate.observe.recorder import LOCK_NOT_AVAILABLE, redact_statement
from gordon_migrate.rehearse.pinned import major_of

if TYPE_CHECKING:
    from gordon_migrate.apply.status import DatabaseStatus
    from gordon_migrate.core.bundle import Migration
    from gordon_migrate.core.sessions import Holder
    from gordon_migrate.sql.split import Statement

log = structlog.get_logger("gordon_migrate.tracing")

#: The longest the end of a run waits for the collector (the issue's bound: 100 ms).
FLUSH_BUDGET_S = 0.08
#: Each export request's own timeout: the thread gives up soon after the run stopped waiting.
EXPORT_TIMEOUT_S = 0.5
SCOPE = "gordon_migrate.apply"


class _Buffer(SpanExporter):
    """Finished spans, kept until the run ends (cheap: no I/O during the run)."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""


def shown_endpoint(url: str) -> str:
    """The endpoint without user, password or query (a token may ride in either)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def otlp_exporter(env: Mapping[str, str]) -> tuple[SpanExporter, str] | None:
    """The OTLP/HTTP exporter the environment describes, and its endpoint as shown; None
    (after a warning) when the environment asks for something this tool does not speak."""
    exporter = env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if exporter != "otlp" or protocol != "http/protobuf":
        log.warning(
            "tracing is off: gordon-migrate exports traces over OTLP/HTTP only "
            "(OTEL_TRACES_EXPORTER=otlp, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)",
            traces_exporter=exporter,
            protocol=protocol,
        )
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if not endpoint:
        base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or "http://localhost:4318"
        endpoint = base.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint, timeout=EXPORT_TIMEOUT_S), shown_endpoint(endpoint)


def _resource(env: Mapping[str, str]) -> Resource:
    named = env.get("OTEL_SERVICE_NAME") or "service.name=" in env.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    return Resource.create({} if named else {"service.name": "gordon-migrate"})


class Tracer(Observer):
    """Spans from the engine's events; ``finish`` ends them and sends them (bounded)."""

    def __init__(
        self,
        exporter: SpanExporter,
        endpoint: str,
        env: Mapping[str, str],
        *,
        flush_budget_s: float = FLUSH_BUDGET_S,
    ) -> None:
        # The exporter's own complaints (and urllib3's retries) would be lines on stderr
        # outside the JSON log: the one warning that matters is ours.
        for name in ("opentelemetry", "urllib3"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self._exporter = exporter
        self._endpoint = endpoint
        self._budget = flush_budget_s
        self._buffer = _Buffer()
        self._provider = TracerProvider(resource=_resource(env), shutdown_on_exit=False)
        self._provider.add_span_processor(SimpleSpanProcessor(self._buffer))
        self._tracer = self._provider.get_tracer(SCOPE)
        self._run = self._tracer.start_span("gordon-migrate apply")
        self._bundle: Sequence[Migration] = ()
        self._lock_span: Span | None = None
        self._migration: Span | None = None
        self._statement: Span | None = None
        self._retry: Span | None = None
        self._locks: MigrationLocks | None = None
        self._lines: dict[int, int] = {}
        self._pending: set[int] = set()
        self._server_major: int | None = None
        self._plan: dict[int, MigrationLocks] | None = None

    @property
    def trace_id(self) -> str:
        return trace.format_trace_id(self._run.get_span_context().trace_id)

    def _child(self, name: str, parent: Span) -> Span:
        return self._tracer.start_span(name, context=trace.set_span_in_context(parent))

    def set_bundle(self, bundle: Sequence[Migration], database: str) -> None:
        self._bundle = bundle
        self._run.set_attribute("db.system.name", "postgresql")
        self._run.set_attribute("db.namespace", database)
        self._run.set_attribute(
            "gordon.bundle_version", max((m.version for m in bundle), default=0)
        )

    # -- the engine's events ---------------------------------------------------------
    def status_read(self, status: DatabaseStatus) -> None:
        self._run.set_attribute("db.namespace", status.database)
        self._run.set_attribute("gordon.pending", len(status.pending))
        self._pending = {s.version for s in status.pending}
        self._server_major = major_of(status.server_version)

    def lock_waiting(self) -> None:
        self._lock_span = self._child("migration lock", self._run)

    def lock_acquired(self, waited_s: float) -> None:
        if self._lock_span is not None:
            self._lock_span.set_attribute("gordon.waited_s", waited_s)
            self._lock_span.end()
            self._lock_span = None

    def migration_started(self, migration: Migration, statements: Sequence[Statement]) -> None:
        span = self._child(f"migration {migration.label}", self._run)
        span.set_attribute("gordon.migration.version", migration.version)
        span.set_attribute("gordon.migration.file", migration.filename)
        span.set_attribute("gordon.migration.no_transaction", migration.no_transaction)
        self._migration = span
        if self._plan is None:
            # Every pending migration at once: the static plan of those not pinned is one
            # lint pass, and each pass replays the whole bundle.
            pending = [m for m in self._bundle if m.version in self._pending] or [migration]
            self._plan = plan_locks(pending, self._bundle or [migration], self._server_major)
        planned = self._plan.get(migration.version)
        matches = planned is not None and len(planned.statements) == len(statements)
        self._locks = planned if matches else None
        self._lines = {s.start: i for i, s in enumerate(statements)}
        self._sql = migration.sql

    def statement_started(self, statement: Statement) -> None:
        if self._migration is None:
            return
        self._end_retry()
        line = self._sql.count("\n", 0, statement.start) + 1
        span = self._child(f"statement line {line}", self._migration)
        span.set_attribute("db.query.text", redact_statement(statement.text))
        span.set_attribute("code.line.number", line)
        index = self._lines.get(statement.start)
        if index is not None and self._locks is not None:
            locks = self._locks.statements[index]
            span.set_attribute("gordon.lock.plan", self._locks.plan)
            if self._locks.server_major is not None:
                span.set_attribute("gordon.lock.plan.server_major", self._locks.server_major)
            span.set_attribute("gordon.locks", lock_words(locks))
            span.set_attribute("gordon.lock.relations", [str(x["relation"]) for x in locks])
            span.set_attribute("gordon.lock.modes", [str(x["mode"]) for x in locks])
        self._statement = span

    def statement_finished(self, statement: Statement, error: BaseException | None) -> None:
        span = self._statement
        if span is None:
            return
        if error is not None:
            sqlstate = getattr(error, "sqlstate", None)
            if isinstance(sqlstate, str):
                span.set_attribute("db.response.status_code", sqlstate)
            span.set_attribute("error.type", sqlstate or type(error).__name__)
            what = "lock_timeout" if sqlstate == LOCK_NOT_AVAILABLE else "failed"
            span.set_status(Status(StatusCode.ERROR, what))
        span.end()
        self._statement = None

    def lock_timed_out(
        self, migration: Migration, statement: Statement, attempt: int, blockers: Sequence[Holder]
    ) -> None:
        if self._migration is None:
            return
        self._end_retry()
        span = self._child("lock retry", self._migration)
        span.set_attribute("gordon.attempt", attempt)
        span.set_attribute("gordon.blocker.pids", [b.pid for b in blockers])
        span.set_attribute("gordon.blocker.relations", [b.relation for b in blockers])
        span.set_attribute("gordon.blocker.modes", [b.mode for b in blockers])
        if blockers:
            span.set_attribute("gordon.blocker.pid", blockers[0].pid)
            span.set_attribute("gordon.blocker.relation", blockers[0].relation)
        self._retry = span

    def migration_finished(self, migration: Migration, elapsed_ns: int, attempts: int) -> None:
        if self._migration is None:
            return
        self._migration.set_attribute("gordon.attempts", attempts)
        self._migration.set_attribute("gordon.execution_s", elapsed_ns / 1e9)
        self._migration.end()
        self._migration = None

    # -- the end ----------------------------------------------------------------------
    def _end_retry(self) -> None:
        if self._retry is not None:
            self._retry.end()
            self._retry = None

    def finish(self, outcome: str, error: BaseException | None, applied: int) -> None:
        """End every open span (the run's last) and send them, waiting at most the budget."""
        status = Status(StatusCode.ERROR, type(error).__name__) if error is not None else None
        self._end_retry()
        for span in (self._statement, self._lock_span, self._migration):
            if span is not None:
                if status is not None:
                    span.set_status(status)
                span.end()
        self._run.set_attribute("gordon.outcome", outcome)
        self._run.set_attribute("gordon.applied", applied)
        if error is not None:
            kind = getattr(error, "kind", None)
            mode = getattr(error, "failure_mode", None)
            self._run.set_attribute("error.type", kind if isinstance(kind, str) else "internal")
            if isinstance(mode, str):
                self._run.set_attribute("gordon.failure_mode", mode)
            self._run.set_status(Status(StatusCode.ERROR, outcome))
        self._run.end()
        self._send()

    def _send(self) -> None:
        spans = list(self._buffer.spans)
        result: list[SpanExportResult | BaseException] = []

        def export() -> None:
            try:
                result.append(self._exporter.export(spans))
            except Exception as exc:  # the exporter's own failure: reported, never raised
                result.append(exc)

        sender = threading.Thread(target=export, name="gordon-otlp-export", daemon=True)
        sender.start()
        sender.join(self._budget)
        if sender.is_alive():
            problem = f"no answer within {self._budget * 1000:.0f} ms"
        elif not result or result[0] is not SpanExportResult.SUCCESS:
            problem = "the export failed (refused, unreachable, or an error status)"
        else:
            return
        log.warning(
            "tracing: the OTLP collector did not take this run's trace; the run is unaffected",
            endpoint=self._endpoint,
            problem=problem,
            trace_id=self.trace_id,
        )

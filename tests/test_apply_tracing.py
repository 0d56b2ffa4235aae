"""OpenTelemetry traces of apply: spans from a real run (the SDK's in-memory exporter), a real
OTLP/HTTP receiver on 127.0.0.1 decoding what arrives, and collectors that refuse or hang."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import structlog
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gordon_migrate.apply import engine
from gordon_migrate.core import bundle, dsn
from gordon_migrate.observe import otel_env
from gordon_migrate.observe.tracing import Tracer
from gordon_migrate.testing import GordonDatabase, TestServer
from tests.support.cli import Bundle, CliRunner, run_process
from tests.support.sql import Sessions

BASE = {
    "0001_create_accounts.sql": (
        "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(18,2));\n"
    ),
    "0002_seed_accounts.sql": "INSERT INTO accounts VALUES (1, 10.00), (2, 20.00);\n",
}
OTEL_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
)


@pytest.fixture(autouse=True)
def _no_otel_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)
    yield
    structlog.contextvars.unbind_contextvars("trace_id")


def test_tracing_is_off_unless_the_environment_asks() -> None:
    assert not otel_env.requested({})
    assert not otel_env.requested({"OTEL_SERVICE_NAME": "gordon-migrate"})
    assert otel_env.requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert otel_env.requested({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert otel_env.requested({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not otel_env.requested(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert not otel_env.requested(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}
    )


def by_name(spans: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def test_spans_of_a_run_with_a_lock_retry(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle, session_holder: Sessions
) -> None:
    root = bundle_dir(BASE)
    target = dsn.parse(gordon_empty_db.dsn)
    engine.apply(target, bundle.load(root))
    (root / "0003_add_currency.sql").write_text("ALTER TABLE accounts ADD COLUMN currency text;\n")
    blocker = session_holder(gordon_empty_db.dsn)
    blocker.execute("BEGIN")
    blocker.execute("SELECT count(*) FROM accounts")
    end = threading.Timer(0.5, lambda: blocker.execute("ROLLBACK"))
    end.start()
    memory = InMemorySpanExporter()
    tracer = Tracer(memory, "memory", {})
    migrations = bundle.load(root)
    tracer.set_bundle(migrations, gordon_empty_db.name)
    result = engine.apply(target, migrations, observer=tracer)
    end.join()
    tracer.finish("success", None, len(result.applied))
    spans = list(memory.get_finished_spans())
    (run,) = by_name(spans, "gordon-migrate apply")
    assert run.parent is None
    assert run.attributes is not None
    assert run.attributes["gordon.outcome"] == "success"
    assert run.attributes["db.namespace"] == gordon_empty_db.name
    assert {s.context.trace_id for s in spans if s.context} == {run.context.trace_id}
    (migration,) = by_name(spans, "migration 0003")
    assert migration.parent is not None and migration.parent.span_id == run.context.span_id
    assert migration.attributes is not None
    attempts = migration.attributes["gordon.attempts"]
    assert isinstance(attempts, int) and attempts > 1
    statements = by_name(spans, "statement line 1")
    assert len(statements) == attempts  # one span per attempt
    last = statements[-1]
    assert last.attributes is not None
    assert last.attributes["db.query.text"] == "ALTER TABLE accounts ADD COLUMN currency text"
    # Not pinned, and the core API asked for no rehearsal: the plan is guessed, and says so
    # (whatever an earlier run in this process rehearsed).
    assert last.attributes["gordon.lock.plan"] == "static"
    assert last.attributes["gordon.lock.modes"] == ("AccessExclusiveLock",)
    assert last.attributes["gordon.lock.relations"] == ("public.accounts",)
    assert last.status.is_ok
    assert not statements[0].status.is_ok  # lock_timeout
    retries = by_name(spans, "lock retry")
    assert len(retries) == attempts - 1
    for retry in retries:
        assert retry.parent is not None and retry.parent.span_id == migration.context.span_id
        assert retry.attributes is not None
    # The first timeout comes long before the blocker ends (a later one may find it gone).
    first = retries[0].attributes
    assert first is not None
    assert first["gordon.blocker.pid"] == blocker.info.backend_pid
    assert first["gordon.blocker.relation"] == "public.accounts"
    assert first["gordon.blocker.pids"] == (blocker.info.backend_pid,)
    (lock,) = by_name(spans, "migration lock")
    assert lock.parent is not None and lock.parent.span_id == run.context.span_id


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[ExportTraceServiceRequest]] = []
    paths: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.received.append(request)
        self.paths.append(self.path)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received.clear()
    _Receiver.paths.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_real_otlp_receiver_gets_the_trace_named_in_the_last_log_line(
    gordon_empty_db: GordonDatabase, bundle_dir: Bundle, receiver: str
) -> None:
    root = bundle_dir(BASE)
    done = run_process(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(root),
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver, "OTEL_SERVICE_NAME": "gordon-deploy"},
    )
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stderr.splitlines()[-1])
    assert last["event"] == "apply complete"
    assert all(
        json.loads(line)["trace_id"] == last["trace_id"] for line in done.stderr.splitlines()
    )
    (request,) = _Receiver.received
    assert _Receiver.paths == ["/v1/traces"]
    (resource_spans,) = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "gordon-deploy"
    spans = [s for scope in resource_spans.scope_spans for s in scope.spans]
    assert {s.trace_id.hex() for s in spans} == {last["trace_id"]}
    names = sorted(s.name for s in spans)
    assert names == [
        "gordon-migrate apply",
        "migration 0001 (0001_create_accounts.sql)",
        "migration 0002 (0002_seed_accounts.sql)",
        "migration lock",
        "statement line 1",
        "statement line 1",
    ]
    insert = next(
        s
        for s in spans
        if s.name == "statement line 1"
        and any(a.value.string_value.startswith("INSERT") for a in s.attributes)
    )
    attributes = {a.key: a.value for a in insert.attributes}
    assert [v.string_value for v in attributes["gordon.lock.modes"].array_value.values] == [
        "RowExclusiveLock"
    ]


def test_the_failure_line_carries_the_trace_id(
    cli: CliRunner,
    gordon_empty_db: GordonDatabase,
    bundle_dir: Bundle,
    receiver: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = bundle_dir({**BASE, "0003_broken.sql": "ALTER TABLE nowhere ADD COLUMN x int;\n"})
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver)
    # The engine's failure inside the run's trace: no rehearsal (which would refuse it) first.
    args = ("--database-url", gordon_empty_db.dsn, "--migrations-dir", str(root))
    result = cli("apply", *args, "--static-plan")
    assert result.code == 1
    last = json.loads(result.err.splitlines()[-1])
    assert last["level"] == "error" and last["failure_mode"] == "FM-19"
    (request,) = _Receiver.received
    spans = [s for r in request.resource_spans for scope in r.scope_spans for s in scope.spans]
    assert {s.trace_id.hex() for s in spans} == {last["trace_id"]}
    run = next(s for s in spans if s.name == "gordon-migrate apply")
    attributes = {a.key: a.value.string_value for a in run.attributes}
    assert attributes["gordon.outcome"] == "failed"
    assert attributes["gordon.failure_mode"] == "FM-19"
    assert attributes["error.type"] == "migration"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def hanging_collector() -> Iterator[str]:
    """Accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("collector", ["refused", "hanging"])
def test_a_collector_that_refuses_or_hangs_is_one_warning_and_the_run_succeeds(
    cli: CliRunner,
    gordon_empty_db: GordonDatabase,
    bundle_dir: Bundle,
    hanging_collector: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    collector: str,
) -> None:
    endpoint = hanging_collector if collector == "hanging" else f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    report = tmp_path / "apply.json"
    result = cli(
        "apply",
        "--database-url",
        gordon_empty_db.dsn,
        "--migrations-dir",
        str(bundle_dir(BASE)),
        "--report",
        str(report),
    )
    assert result.code == 0, result.err
    events = [json.loads(line) for line in result.err.splitlines()]  # JSON lines only
    warnings = [e for e in events if e["level"] == "warning"]
    assert len(warnings) == 1, warnings
    (warning,) = warnings
    assert warning["event"].startswith("tracing: the OTLP collector did not take this run's trace")
    assert warning["endpoint"] == f"{endpoint}/v1/traces"
    expected = "no answer within 80 ms" if collector == "hanging" else "the export failed"
    assert warning["problem"].startswith(expected)
    assert json.loads(report.read_text())["trace_id"] == warning["trace_id"]


class _Hang(SpanExporter):
    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()

    def export(self, spans: object) -> SpanExportResult:
        self.entered.set()
        self.release.wait(30)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


def test_spans_of_bundled_statements_carry_the_pinned_measured_plan(
    gordon_empty_db: GordonDatabase, gordon_server: TestServer
) -> None:
    memory = InMemorySpanExporter()
    tracer = Tracer(memory, "memory", {})
    migrations = bundle.load()
    tracer.set_bundle(migrations, gordon_empty_db.name)
    result = engine.apply(dsn.parse(gordon_empty_db.dsn), migrations, observer=tracer)
    tracer.finish("success", None, len(result.applied))
    spans = list(memory.get_finished_spans())
    statements = by_name(spans, "statement line")
    assert {(s.attributes or {}).get("gordon.lock.plan") for s in statements} == {"measured"}
    (migration,) = by_name(spans, "migration 0035")
    (build,) = [s for s in statements if s.parent and s.parent.span_id == migration.context.span_id]
    assert build.attributes is not None
    assert build.attributes["gordon.lock.plan.server_major"] == gordon_server.version
    assert build.attributes["gordon.lock.modes"] == ("ShareUpdateExclusiveLock",)
    assert build.attributes["gordon.lock.relations"] == ("trading.fills",)


def test_the_run_does_not_wait_for_an_exporter_that_hangs() -> None:
    """The bound is structural: finish returns while the export is still blocked."""
    hang = _Hang()
    tracer = Tracer(hang, "hang", {})
    tracer.finish("success", None, 0)
    assert hang.entered.is_set()
    alive = [t for t in threading.enumerate() if t.name == "gordon-otlp-export"]
    assert alive and all(t.daemon for t in alive)
    hang.release.set()


def test_apply_imports_opentelemetry_only_when_asked_and_never_prometheus_client(
    gordon_db: GordonDatabase, receiver: str, tmp_path: Path
) -> None:
    code = (
        "import atexit, sys\n"
        "heavy = ('prometheus_client', 'opentelemetry', 'pglast')\n"
        "atexit.register(lambda: print('loaded', *sorted(m for m in heavy if m in sys.modules)))\n"
        "from gordon_migrate.cli import main\n"
        "main(sys.argv[1:])\n"
    )

    def loaded(*args: str, env: dict[str, str] | None = None) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", code, "apply", "--database-url", gordon_db.dsn, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, **(env or {})},
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()[-1].split()[1:]

    assert loaded() == []
    assert loaded("--metrics-file", str(tmp_path / "a.prom")) == []  # written without it
    assert loaded(env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver}) == ["opentelemetry"]

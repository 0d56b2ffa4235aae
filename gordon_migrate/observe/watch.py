"""What watches one apply run: the metrics file, the report, the trace (each only when asked
for), started before anything is read and finished whatever the outcome."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from gordon_migrate import __version__
from gordon_migrate.apply.events import NO_OBSERVER, Observer, Observers
from gordon_migrate.observe import otel_env
from gordon_migrate.observe.output import check_writable
from gordon_migrate.observe.recorder import Recorder

if TYPE_CHECKING:
    from gordon_migrate.core.bundle import Migration
    from gordon_migrate.core.dsn import Dsn
    from gordon_migrate.observe.tracing import Tracer

log = structlog.get_logger("gordon_migrate.observe")


def wanted(metrics_file: Path | None, report_file: Path | None, env: Mapping[str, str]) -> bool:
    return metrics_file is not None or report_file is not None or otel_env.requested(env)


class Watch:
    """Create it first thing (it refuses unwritable paths: nothing has run yet), give it the
    bundle and the target as they are known, pass ``observer`` to the engine, then ``finish``."""

    def __init__(
        self,
        *,
        metrics_file: Path | None = None,
        report_file: Path | None = None,
        env: Mapping[str, str],
    ) -> None:
        for path, option in ((metrics_file, "--metrics-file"), (report_file, "--report")):
            if path is not None:
                check_writable(path, option)
        self.metrics_file, self.report_file = metrics_file, report_file
        self.recorder: Recorder | None = None
        if metrics_file is not None or report_file is not None:
            self.recorder = Recorder(database="", tool_version=__version__)
        self.tracer: Tracer | None = _tracer(env) if otel_env.requested(env) else None
        if self.tracer is not None:
            # Every log line of the run carries it, the last one included: the operator
            # finds the trace from the deploy's log.
            structlog.contextvars.bind_contextvars(trace_id=self.tracer.trace_id)
        self._bundle: Sequence[Migration] = ()
        self._target: str | None = None
        self._database = ""

    @property
    def observer(self) -> Observer:
        observers: list[Observer] = [o for o in (self.recorder, self.tracer) if o is not None]
        # Even one observer goes through Observers: a bug in a watcher is logged and the
        # watcher dropped, never a failed deploy.
        return Observers(observers) if observers else NO_OBSERVER

    @property
    def trace_id(self) -> str | None:
        return self.tracer.trace_id if self.tracer is not None else None

    def bundle_loaded(self, bundle: Sequence[Migration]) -> None:
        self._bundle = bundle
        if self.recorder is not None:
            self.recorder.set_bundle(bundle)

    def target_resolved(self, target: Dsn) -> None:
        from gordon_migrate.core.dsn import database_name

        self._target = target.redacted
        self._database = database_name(target.value)
        if self.recorder is not None:
            self.recorder.record.database = self._database
        if self.tracer is not None:
            self.tracer.set_bundle(self._bundle, self._database)

    def finish(self, error: BaseException | None) -> None:
        """Close the run: end the trace (bounded), write the report and the metrics. A file
        that cannot be written now is logged, not raised: the deploy gate's answer is the
        migrations', and the paths were checked before the run."""
        run = self.recorder.finish(error) if self.recorder is not None else None
        if self.tracer is not None:
            tracer = self.tracer
            outcome = run.outcome if run is not None else ("success" if error is None else "failed")
            applied = len(run.applied) if run is not None else 0
            _safely("the trace", lambda: tracer.finish(outcome, error, applied))
        if run is None:
            return
        run.trace_id = self.trace_id
        if self.report_file is not None:
            from gordon_migrate.observe import report

            path = self.report_file
            _safely(
                "the report",
                lambda: report.write(path, report.build(run, self._bundle, self._target)),
            )
        if self.metrics_file is not None:
            from gordon_migrate.observe import metrics

            textfile = self.metrics_file
            _safely("the metrics", lambda: metrics.write_textfile(textfile, run))


def _safely(what: str, action: Callable[[], None]) -> None:
    """Finish one watcher; a failure is a warning (the run's own outcome stands)."""
    from gordon_migrate.core.errors import GordonError

    try:
        action()
    except GordonError as exc:
        log.warning(str(exc))
    except Exception as exc:  # a watcher's bug must not replace the run's outcome
        log.warning(
            f"could not finish {what} of the run; the run itself is unaffected",
            error=f"{type(exc).__name__}: {exc}",
        )


def _tracer(env: Mapping[str, str]) -> Tracer | None:
    try:
        from gordon_migrate.observe import tracing
    except ImportError as exc:
        log.warning(
            "tracing is off: OTEL_* asks for traces but OpenTelemetry is not installed "
            "(pip install 'gordon-migrate[otel]')",
            missing=exc.name,
        )
        return None
    made = tracing.otlp_exporter(env)
    if made is None:
        return None
    exporter, endpoint = made
    return tracing.Tracer(exporter, endpoint, env)

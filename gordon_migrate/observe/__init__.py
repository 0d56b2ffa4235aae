"""Watching a deploy: what an apply run did, as Prometheus metrics, a JSON report and traces.

The engine reports its boundaries (run, migration, statement, lock retry) to an ``Observer``
(``events``); the plain apply passes the no-op one. Everything here is imported only when
asked for: ``metrics`` (prometheus_client) with ``--metrics-file``, ``report`` (and the
static lock plan, pglast) with ``--report``, ``tracing`` (OpenTelemetry) when the ``OTEL_*``
environment asks for it (``otel_env``).
"""

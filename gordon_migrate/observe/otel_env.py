"""Whether the standard ``OTEL_*`` environment asks for traces: read without importing
OpenTelemetry, so a run that does not trace never pays for it."""

from __future__ import annotations

from collections.abc import Mapping

ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def requested(env: Mapping[str, str]) -> bool:
    """True when an OTLP endpoint is set, or ``OTEL_TRACES_EXPORTER`` names an exporter, and
    neither ``OTEL_SDK_DISABLED=true`` nor ``OTEL_TRACES_EXPORTER=none`` turns it off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(exporter) or any(env.get(name, "").strip() for name in ENDPOINTS)

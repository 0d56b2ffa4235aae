"""Postgres-style durations for the timeout options (``5s``, ``200ms``, ``15min``)."""

from __future__ import annotations

import re

from gordon_migrate.core.errors import ConfigError

_UNITS_MS = {
    "us": 0.001,
    "ms": 1.0,
    "s": 1000.0,
    "min": 60_000.0,
    "h": 3_600_000.0,
    "d": 86_400_000.0,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$")


def parse_ms(value: str, option: str) -> int:
    """Milliseconds in ``value`` (bare numbers are milliseconds, as in postgresql.conf)."""
    match = _DURATION.match(value)
    if match is None:
        raise ConfigError(
            f"{option}: {value!r} is not a duration; use e.g. 200ms, 5s, 15min, 1h (0 disables)"
        )
    return round(float(match[1]) * _UNITS_MS[match[2] or "ms"])


def format_ms(ms: int) -> str:
    """The shortest exact Postgres spelling of ``ms``."""
    for unit, size in (("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"

"""structlog setup: JSON lines on stderr for machines, readable lines for a terminal.

Every event passes through a scrubber, so a password that slips into a log value is redacted.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

import structlog

from gordon_migrate.core.dsn import scrub
from gordon_migrate.core.errors import ConfigError

FORMATS = ("auto", "json", "console")
LEVELS = ("debug", "info", "warning", "error")


def configure(level: str, fmt: str = "auto", stream: TextIO | None = None) -> bool:
    """Route structlog (and stdlib logging) to ``stream`` (stderr) at ``level``.

    Returns True when the lines are JSON.
    """
    name = level.lower()
    if name not in LEVELS:
        raise ConfigError(f"--log-level: {level!r} is not one of {', '.join(LEVELS)}")
    if fmt not in FORMATS:
        raise ConfigError(f"--log-format: {fmt!r} is not one of {', '.join(FORMATS)}")
    out = stream if stream is not None else sys.stderr
    console = fmt == "console" or (fmt == "auto" and out.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=out.isatty())
        if console
        else structlog.processors.JSONRenderer()
    )
    numeric = getattr(logging, name.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _demote_quiet(numeric),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _scrub_event,
            *([_flatten_nested] if console else []),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # Resolve stderr at each write (not at configure time): embedders and tests swap it.
        logger_factory=(
            structlog.PrintLoggerFactory(stream)
            if stream is not None
            else lambda *_: structlog.PrintLogger(sys.stderr)
        ),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=out, force=True)
    return not console


_QUIET: ContextVar[bool] = ContextVar("gordon_quiet", default=False)


@contextmanager
def quiet() -> Iterator[None]:
    """Within: info events are debug events. For work nested in a command whose own result
    is the point (the scratch apply of ``fixtures update``): its details at debug only."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def _demote_quiet(level: int) -> structlog.typing.Processor:
    """Under ``quiet()``: drop info events, or show them as debug ones at ``level`` debug."""

    def demote(
        _logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if method == "info" and _QUIET.get():
            if level > logging.DEBUG:
                raise structlog.DropEvent
            event["level"] = "debug"
        return event

    return demote


def _flatten_nested(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """On a terminal, nested values (the blockers of a lock retry: a list of dicts) as words:
    ``blockers=[pid=12 relation=trading.runs mode=AccessShareLock; pid=13 ...]``, not
    Python's repr of dicts."""
    for key, value in event.items():
        if isinstance(value, dict | list | tuple) and key != "exc_info":
            event[key] = _ConsoleValue(_words(value))
    return event


def _words(value: object) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={_words(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "[" + "; ".join(_words(v) for v in value) + "]"
    return str(value)


class _ConsoleValue(str):
    """A string the console renderer prints as it is (its repr is itself)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def _scrub_event(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = scrub(value)
    return event

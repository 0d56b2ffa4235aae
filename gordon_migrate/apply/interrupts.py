"""SIGTERM and SIGINT as one exception, so an interrupted apply cancels its statement on the
server and reports what happened to the migration instead of dying with its locks held.

``docker stop`` sends SIGTERM, an operator Ctrl-C. Both raise ``Interrupted``, a
``KeyboardInterrupt``: psycopg then cancels the running query server-side before re-raising
(its documented Ctrl-C behaviour), the engine rolls back or records what it left, and closing
the connection ends the backend. Only the first signal raises; later ones are logged, so the
bounded clean-up (psycopg gives a cancel 5 s) is not itself interrupted half-way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import structlog

log = structlog.get_logger("gordon_migrate.interrupts")

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; ``signal_name`` says which."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@contextmanager
def raising() -> Iterator[None]:
    """Within the block, the first SIGTERM or SIGINT raises ``Interrupted``.

    Outside the main thread (the TUI's worker) signal handlers cannot be set: the block runs
    unchanged there, and cancellation goes through the caller's own mechanism.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        name = signal.Signals(signum).name
        if raised:
            log.warning("signal received during clean-up; finishing it first", signal=name)
            return
        raised = True
        raise Interrupted(name)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)

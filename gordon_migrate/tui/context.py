"""What every screen needs: the target, the bundle, and a counter of confirmed writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psycopg

from gordon_migrate.bundle import Migration
from gordon_migrate.db import Conn, connect, is_connection_lost, lost_error, one_line
from gordon_migrate.dsn import Dsn, scrub
from gordon_migrate.errors import GordonError

T = TypeVar("T")


@dataclass
class Context:
    """Shared by the app and its screens (the TUI's only state besides what screens show)."""

    target: Dsn
    bundle: list[Migration]
    fixtures_dir: Path | None = None
    generation: int = 0
    """Bumped after every confirmed write: a screen loaded before it reloads when shown."""
    busy: str | None = None
    """What write is running (an apply, a repair), if any: navigation and quit wait for it."""

    def changed(self) -> None:
        self.generation += 1


def read(target: Dsn, purpose: str, fetch: Callable[[Conn], T]) -> T:
    """Run ``fetch`` on a fresh read-only connection named ``gordon-migrate tui <purpose>``.

    Called from worker threads only: psycopg connections are not shared between threads.
    """
    try:
        with connect(target, purpose=f"tui {purpose}", read_only=True) as conn:
            return fetch(conn)
    except psycopg.Error as exc:
        if is_connection_lost(exc):
            raise lost_error(target, exc, f"reading the {purpose}") from None
        raise


def describe_failure(exc: BaseException) -> str:
    """One clear line for a failed worker: the core's message, never a traceback."""
    if isinstance(exc, GordonError):
        return scrub(str(exc))
    if isinstance(exc, psycopg.Error):
        state = f"SQLSTATE {exc.sqlstate}: " if exc.sqlstate else ""
        return f"query failed: {state}{one_line(scrub(str(exc)))}"
    return (
        f"internal error ({type(exc).__name__}): {one_line(scrub(str(exc)))}; "
        "run the same check with the CLI (gordon-migrate --log-level debug) and report it"
    )

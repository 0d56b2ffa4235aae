"""What every screen needs: what the run points at (``settings.Target``), and the TUI's own
state (a counter of confirmed writes, the running write, the pause, the clock)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gordon_migrate.apply.resolve import OnTheFly
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.dsn import Dsn, one_line, scrub
from gordon_migrate.core.errors import GordonError
from gordon_migrate.core.settings import Target


@dataclass
class Context:
    """Shared by the app and its screens (the TUI's only state besides what screens show)."""

    run: Target
    """What the TUI points at (the database and the migrations resolved: it starts on no less)."""
    generation: int = 0
    """Bumped after every confirmed write: a screen loaded before it reloads when shown."""
    busy: str | None = None
    """What write is running (an apply, a repair), if any: navigation and quit wait for it."""
    own_lock: bool = False
    """This TUI's apply holds the migration lock (it has started a migration)."""
    paused: bool = False
    """Live refresh paused (p): the screens keep what they last read."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """When data was read ("as of"): fixed in snapshot tests."""
    rehearse: OnTheFly | None = None
    """How the apply confirmation rehearses pending migrations the pinned plan lacks, as
    ``apply`` does (None: their plan is guessed, and says so). Only the confirmation asks:
    the live screens never start a rehearsal on a refresh."""

    @property
    def target(self) -> Dsn:
        return self.run.required_dsn()

    @property
    def bundle(self) -> tuple[Migration, ...]:
        return self.run.required_bundle()

    @property
    def fixtures_dir(self) -> Path | None:
        return self.run.fixtures_dir

    def changed(self) -> None:
        self.generation += 1

    def as_of(self, when: datetime | None) -> str:
        """A panel's subtitle: when its data was read (UTC), and whether refresh is paused."""
        if when is None:
            return ""
        text = f"as of {when.astimezone(UTC):%H:%M:%S}Z"
        return f"{text} · paused (p)" if self.paused else text


def describe_failure(exc: BaseException) -> str:
    """One clear line for a failed worker: the core's message, never a traceback."""
    if isinstance(exc, GordonError):
        # The core's own line: a failed query is a QueryError, a lost session a
        # ConnectionLostError (db.connection), never a driver exception.
        return scrub(str(exc))
    return (
        f"internal error ({type(exc).__name__}): {one_line(scrub(str(exc)))}; "
        "run the same check with the CLI (gordon-migrate --log-level debug) and report it"
    )

"""What the engine tells an observer, at the boundaries of a run (no-op by default).

Kept free of imports beyond the standard library: the engine imports this on every apply,
the no-op included. Calls happen on the engine's own thread, in order, and an observer must
not raise (a broken observer would fail the deploy it only watches): ``Observers`` swallows
and logs what one raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gordon_migrate.apply.status import DatabaseStatus
    from gordon_migrate.core.bundle import Migration
    from gordon_migrate.core.sessions import Holder
    from gordon_migrate.sql.split import Statement


class Observer:
    """Every hook of a run; each does nothing here."""

    def status_read(self, status: DatabaseStatus) -> None:
        """The history was read (before the lock, and again under it)."""

    def lock_waiting(self) -> None:
        """The run starts waiting for the migration (advisory) lock."""

    def lock_acquired(self, waited_s: float) -> None:
        """The migration lock is held, after ``waited_s`` seconds."""

    def migration_started(self, migration: Migration, statements: Sequence[Statement]) -> None:
        """A pending migration starts (its first attempt)."""

    def statement_started(self, statement: Statement) -> None:
        """A statement of the migration in flight is sent (again, on a retry)."""

    def statement_finished(self, statement: Statement, error: BaseException | None) -> None:
        """The statement answered: ``error`` is the server's error, None when it succeeded."""

    def lock_timed_out(
        self, migration: Migration, statement: Statement, attempt: int, blockers: Sequence[Holder]
    ) -> None:
        """An attempt hit lock_timeout; ``blockers`` held locks on the statement's relations."""

    def migration_finished(self, migration: Migration, elapsed_ns: int, attempts: int) -> None:
        """The migration committed (with its history row)."""


NO_OBSERVER = Observer()


class Observers(Observer):
    """Several observers as one; one that raises is logged and dropped, never fatal."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self._observers = list(observers)

    def _each(self, hook: str, *args: object) -> None:
        for observer in list(self._observers):
            try:
                getattr(observer, hook)(*args)
            except Exception as exc:  # a watcher never fails the deploy it watches
                import structlog

                structlog.get_logger("gordon_migrate.observe").warning(
                    "an apply observer failed and was turned off; the run goes on",
                    observer=type(observer).__name__,
                    error=f"{type(exc).__name__}: {exc}",
                )
                self._observers.remove(observer)

    def status_read(self, status: DatabaseStatus) -> None:
        self._each("status_read", status)

    def lock_waiting(self) -> None:
        self._each("lock_waiting")

    def lock_acquired(self, waited_s: float) -> None:
        self._each("lock_acquired", waited_s)

    def migration_started(self, migration: Migration, statements: Sequence[Statement]) -> None:
        self._each("migration_started", migration, statements)

    def statement_started(self, statement: Statement) -> None:
        self._each("statement_started", statement)

    def statement_finished(self, statement: Statement, error: BaseException | None) -> None:
        self._each("statement_finished", statement, error)

    def lock_timed_out(
        self, migration: Migration, statement: Statement, attempt: int, blockers: Sequence[Holder]
    ) -> None:
        self._each("lock_timed_out", migration, statement, attempt, blockers)

    def migration_finished(self, migration: Migration, elapsed_ns: int, attempts: int) -> None:
        self._each("migration_finished", migration, elapsed_ns, attempts)

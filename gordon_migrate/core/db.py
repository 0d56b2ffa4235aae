"""Connections: the tool's application_name, bytes sent as UTF-8, bounded connect time, a
bounded wait for every reply, errors mapped to the core's.

This module is the one place that sees psycopg's exceptions. ``connection`` is the one way the
core opens a session and runs work on it: no ``psycopg.Error`` leaves it (a lost session and a
failed query become ``GordonError``s). A caller that handles a failed round trip itself wraps
it in ``mapped()`` and catches the ``ServerError`` it raises: the SQLSTATE and the server's
report as data, and whether the session was lost.
Every connection ``connect`` opens is guarded by a ``Watchdog`` for the Dsn's
``network_timeout_s`` unless the caller guards its round trips itself (apply): a server that
stops answering behind a live proxy ends the work as ``ServerSilentError`` (FM-29), never a
hang.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

import psycopg
from psycopg import conninfo
from psycopg.rows import TupleRow

from gordon_migrate.core.dsn import Dsn, one_line
from gordon_migrate.core.errors import (
    DISK_FULL,
    INSUFFICIENT_PRIVILEGE,
    READ_ONLY_TRANSACTION,
    ConnectError,
    ConnectionLostError,
    GordonError,
    QueryError,
    ServerError,
    ServerSilentError,
)

Conn = psycopg.Connection[TupleRow]

APPLICATION_NAME = "gordon-migrate"
CONNECT_TIMEOUT_S = 10

# Client-side TCP keepalives and tcp_user_timeout: a dead peer (host gone, cable pulled) is
# noticed in about 20 s instead of the kernel's two hours. They cannot see a silent server
# behind a live proxy or NAT, which answers keepalives itself: ``Watchdog`` covers that.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 20_000,
}

# SQLSTATEs a backend sends when it is going away under us.
CONNECTION_LOST_STATES = frozenset({"57P01", "57P02", "57P03", "08000", "08003", "08006"})


#: The Rust tool's history table (the compatibility contract). ``apply.history`` owns its
#: rows; the connection's facts only ask whether it exists.
HISTORY_TABLE = "public._sqlx_migrations"


class _GuardedConnection(psycopg.Connection[TupleRow]):
    """A connection whose lifetime watchdog (if any) stops when it closes."""

    watchdog: Watchdog | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.watchdog is not None:
                self.watchdog.stop()


def connect(
    dsn: Dsn,
    *,
    purpose: str,
    options: Mapping[str, str] | None = None,
    read_only: bool = False,
    connect_timeout: int | None = None,
    guarded: bool = True,
    extra_s: float = 0.0,
) -> Conn:
    """Open an autocommit connection named ``gordon-migrate <purpose>``.

    ``options`` become ``-c name=value`` startup parameters: they cost no round trip.
    ``client_encoding`` is always UTF8, whatever the environment (PGCLIENTENCODING) or the
    database's or role's settings say: migrations are sent as the UTF-8 bytes of the file,
    and a server converting them from another encoding would store other characters. With
    ``guarded`` (the default) the whole connection must be done within the Dsn's
    ``network_timeout_s`` (plus ``extra_s``, for work that may legitimately wait that much
    longer, such as polling for the migration lock); a caller that guards each round trip
    itself passes False. ``connect_timeout``: seconds, else ``connect_timeout_of(dsn)``.
    """
    timeout = connect_timeout if connect_timeout is not None else connect_timeout_of(dsn)
    settings = dict(options or {})
    if read_only:
        settings["default_transaction_read_only"] = "on"
    startup = " ".join(f"-c {name}={value}" for name, value in sorted(settings.items()))
    params = conninfo.make_conninfo(
        dsn.value,
        application_name=f"{APPLICATION_NAME} {purpose}"[:63],
        connect_timeout=timeout,
        client_encoding="UTF8",
        **KEEPALIVES,
        **({"options": startup} if startup else {}),
    )
    try:
        conn = _GuardedConnection.connect(params, autocommit=True)
    except psycopg.Error as exc:
        raise connect_error(dsn, exc, timeout) from None
    if guarded and dsn.network_timeout_s > 0:
        conn.watchdog = Watchdog(conn)
        conn.watchdog.arm(dsn.network_timeout_s + extra_s)
    return conn


def silent_for(conn: Conn) -> float | None:
    """The bound, in seconds, after which ``conn``'s lifetime watchdog cut it; else None."""
    watchdog = conn.watchdog if isinstance(conn, _GuardedConnection) else None
    return watchdog.fired if watchdog is not None else None


def silent_error(dsn: Dsn, seconds: float, doing: str) -> ServerSilentError:
    """The server stopped answering: no reply within the network timeout."""
    return ServerSilentError(
        f"the server of {dsn.redacted} stopped answering: no reply within {seconds:g}s "
        f"(--network-timeout) while {doing}, so the connection was given up; check the "
        "network path and the server (`pg_isready`), then re-run (docs/spof-runbook.md, FM-29)"
    )


def connect_timeout_of(dsn: Dsn) -> int:
    """The seconds a connection attempt to ``dsn`` may take: the URL's ``connect_timeout``
    (libpq's parameter), else ``CONNECT_TIMEOUT_S``. Never unbounded: 0 (libpq's "wait
    forever") or a value that is not a whole number keeps the default; as in libpq, 1 is taken
    as 2."""
    try:
        raw = conninfo.conninfo_to_dict(dsn.value).get("connect_timeout")
    except psycopg.Error:  # the connection attempt reports what is wrong with the URL
        raw = None
    try:
        seconds = int(str(raw).strip()) if raw is not None else 0
    except ValueError:
        seconds = 0
    return max(seconds, 2) if seconds > 0 else CONNECT_TIMEOUT_S


def connect_error(dsn: Dsn, exc: psycopg.Error, timeout_s: int) -> GordonError:
    """Turn a failed connection attempt (bounded by ``timeout_s``) into one clear, redacted
    line."""
    raw = one_line(dsn.scrub(str(exc)))
    state = exc.sqlstate or ""
    reason = re.sub(r"^connection failed: ", "", raw)
    # The runbook's failure mode is decided here, where libpq's reason is at hand (a refused
    # or timed-out connection carries no SQLSTATE): diagnose reads it from the error.
    if state == "28P01" or "password authentication failed" in raw:
        hint = "check the password of this role (set out of band) in DATABASE_URL"
        mode = "FM-07"
    elif state == "3D000" or re.search(r'database ".*" does not exist', raw):
        hint = "create the database first, or fix the database name in the URL"
        mode = "FM-06"
    elif (
        state == "28000"
        or "no pg_hba.conf entry" in raw
        or re.search(r'role ".*" does not exist', raw)
    ):
        hint = "check the role name and the server's pg_hba.conf"
        mode = "FM-08"
    elif state == "53300" or re.search(
        "too many clients|too many connections|remaining connection slots are reserved", raw
    ):
        hint = "the server has no free connection slot; find idle sessions or raise max_connections"
        mode = "FM-09"
    elif state == "55000" or "is not currently accepting connections" in raw:
        hint = (
            "the database does not accept connections (ALLOW_CONNECTIONS false, or it is "
            "being dropped or created): as a superuser, `ALTER DATABASE <name> "
            "ALLOW_CONNECTIONS true` if that is intended"
        )
        mode = "FM-33"
    elif state == "57P03" or "the database system is" in raw:
        hint = "the server is starting up, shutting down or in crash recovery; wait and re-run"
        mode = "FM-10"
    elif "timeout expired" in raw:
        hint = f"the server did not answer within {timeout_s}s; check host, port and network"
        mode = "FM-05"
    else:
        hint = "check that the server is up and that host and port in the URL are right"
        mode = "FM-04"
    return ConnectError(
        f"cannot connect to {dsn.redacted}: {reason}; {hint}",
        sqlstate=exc.sqlstate,
        failure_mode=mode,
    )


@contextmanager
def connection(
    dsn: Dsn,
    *,
    purpose: str,
    doing: str,
    read_only: bool = False,
    options: Mapping[str, str] | None = None,
    connect_timeout: int | None = None,
    failed: Callable[[ServerError], GordonError] | None = None,
    guarded: bool = True,
    extra_s: float = 0.0,
) -> Iterator[Conn]:
    """An autocommit connection named ``gordon-migrate <purpose>`` (see ``connect``) for the
    enclosed work; a ``psycopg.Error`` (or a ``ServerError`` let through) raised by that work
    does not get out.

    A lost session becomes ``ConnectionLostError`` ("lost the connection to <dsn> while
    <doing>: ..."); any other server error becomes ``failed(exc)`` (``exc`` a
    ``ServerError``), by default a
    ``QueryError`` ("query failed: SQLSTATE ...: ..."). Messages are redacted. A
    ``GordonError`` raised by the work passes through as it is. Not shared between threads:
    each thread opens its own.
    """
    with connect(
        dsn,
        purpose=purpose,
        options=options,
        read_only=read_only,
        connect_timeout=connect_timeout,
        guarded=guarded,
        extra_s=extra_s,
    ) as conn:
        try:
            with _MAPPED:
                yield conn
        except ServerError as exc:
            raise mapped_error(dsn, conn, exc, doing, failed, read_only=read_only) from None


class _Mapped:
    """See ``mapped``: stateless, so one instance serves every use, nested or not."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, psycopg.Error):
            raise server_error(exc) from exc


_MAPPED = _Mapped()


def mapped() -> _Mapped:
    """``with mapped():`` round trips whose failure the caller handles: a ``psycopg.Error``
    raised inside leaves as a ``ServerError``; anything else passes as it is. It costs no
    round trip and no allocation (the apply path wraps every statement in it)."""
    return _MAPPED


def server_error(exc: psycopg.Error) -> ServerError:
    """``exc`` as the tool's ``ServerError``: its text, SQLSTATE and the server's report."""
    diag = exc.diag
    position = diag.statement_position
    return ServerError(
        str(exc),
        sqlstate=exc.sqlstate,
        primary=diag.message_primary,
        detail=diag.message_detail,
        hint=diag.message_hint,
        position=int(position) if position and position.isdigit() else None,
        lost=is_connection_lost(exc),
    )


def mapped_error(
    dsn: Dsn,
    conn: Conn,
    exc: ServerError,
    doing: str,
    failed: Callable[[ServerError], GordonError] | None = None,
    *,
    read_only: bool = False,
) -> GordonError:
    """``exc`` raised on ``conn`` as the core's error: a silent server (the watchdog cut the
    connection), a lost session, else ``failed(exc)`` or a ``QueryError``."""
    seconds = silent_for(conn)
    if seconds is not None:
        return silent_error(dsn, seconds, doing)
    if exc.lost:
        return lost_error(dsn, exc, doing)
    if failed is not None:
        return failed(exc)
    return query_error(dsn, exc, read_only_session=read_only)


def error_text(dsn: Dsn, exc: ServerError) -> str:
    """The server's message on one line, passwords redacted (for a ``failed`` mapping)."""
    return one_line(dsn.scrub(str(exc)))


def query_error(dsn: Dsn, exc: ServerError, *, read_only_session: bool = False) -> QueryError:
    """A statement failed in a way no caller expects: its SQLSTATE and message."""
    state = f"SQLSTATE {exc.sqlstate}: " if exc.sqlstate else ""
    text = f"query failed: {state}{error_text(dsn, exc)}"
    # A privilege the role lacks (FM-12), a full disk (FM-25) and a database that refuses
    # writes (FM-11) are the server's state, named as such; anything else is a failure
    # gordon-migrate did not expect (FM-28: report it).
    if exc.sqlstate == INSUFFICIENT_PRIVILEGE:
        mode = "FM-12"
    elif exc.sqlstate == DISK_FULL:
        mode = "FM-25"
        text += "; the database's disk is full: free or grow the volume, then re-run"
    elif exc.sqlstate == READ_ONLY_TRANSACTION and not read_only_session:
        # (On a session the tool opened read-only itself, a write is its own bug: FM-28.)
        mode = "FM-11"
        text += (
            "; the database refuses writes (a standby, or default_transaction_read_only set "
            "on the database or role): point DATABASE_URL at a writable primary"
        )
    else:
        mode = "FM-28"
    return QueryError(text, sqlstate=exc.sqlstate, failure_mode=mode)


def is_connection_lost(exc: psycopg.Error) -> bool:
    """True when ``exc`` means the session is gone, not that a statement failed."""
    if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
        return True
    return (exc.sqlstate or "") in CONNECTION_LOST_STATES


def lost_error(dsn: Dsn, exc: ServerError, doing: str) -> ConnectionLostError:
    """The connection died while ``doing`` something."""
    return ConnectionLostError(
        f"lost the connection to {dsn.redacted} while {doing}: {error_text(dsn, exc)}"
    )


class Watchdog:
    """Cuts a connection whose server stops answering, from a helper thread.

    libpq has no client-side query timeout, and keepalives are answered by any live proxy or
    NAT between us and a silent server, so without this a lost reply hangs the caller forever.
    ``guard(seconds)`` arms it around one round trip; when the reply has not come by then the
    socket is shut down, the blocked call fails as a lost connection at once, and ``fired``
    says why. Shutting the socket down (not closing it) is safe while the owner thread still
    uses the descriptor, from any thread.
    """

    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._armed_for = 0.0
        self._stopped = False
        self._sleeping_until: float | None = None
        self.fired: float | None = None
        """The guard's length in seconds when it fired, else None."""
        self._thread = threading.Thread(target=self._run, name="gordon-watchdog", daemon=True)
        self._thread.start()

    @contextmanager
    def guard(self, seconds: float | None) -> Iterator[None]:
        """Cut the connection if the enclosed round trips take longer than ``seconds``."""
        if seconds is None:
            yield
            return
        self.arm(seconds)
        try:
            yield
        finally:
            with self._cond:
                self._deadline = None

    def arm(self, seconds: float) -> None:
        """Cut the connection ``seconds`` from now unless disarmed or stopped before."""
        deadline = time.monotonic() + seconds
        with self._cond:
            self._deadline = deadline
            self._armed_for = seconds
            # Wake the thread only if it would otherwise sleep past this deadline: guards are
            # armed around every statement, and a wake-up each time doubled the cost of a
            # short one. Disarming never wakes it: it re-checks when it wakes by itself.
            if self._sleeping_until is None or deadline < self._sleeping_until:
                self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                deadline = self._deadline
                if deadline is None:
                    self._sleeping_until = None
                    self._cond.wait()
                    continue
                left = deadline - time.monotonic()
                if left > 0:
                    self._sleeping_until = deadline
                    self._cond.wait(timeout=left)
                    continue
                self.fired = self._armed_for
                self._deadline = None
                self._cut()

    def _cut(self) -> None:
        try:
            fd = self._conn.pgconn.socket
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except (OSError, psycopg.Error):
            pass  # already closed: the blocked call has failed by itself


@dataclass(frozen=True)
class ServerFacts:
    """What apply checks about a server before anything else."""

    database: str
    user: str
    server_version: str
    """``18.4``-style."""
    in_recovery: bool
    """A standby (or a server in recovery): nothing can be migrated there."""
    history_exists: bool
    """``public._sqlx_migrations`` exists."""
    read_only: bool = False
    """Transactions of this session are read-only: on a writable session, the database or
    the role sets ``default_transaction_read_only`` (a read-only session says so by itself)."""


_SERVER_FACTS = f"""
SELECT current_database()::text, current_user::text, pg_is_in_recovery(),
       to_regclass('{HISTORY_TABLE}') IS NOT NULL,
       current_setting('transaction_read_only') = 'on'
"""


def server_facts(conn: Conn) -> ServerFacts:
    """The server facts of ``conn`` (one round trip)."""
    row = conn.execute(_SERVER_FACTS).fetchone()
    assert row is not None
    database, user, in_recovery, history_exists, read_only = row
    return ServerFacts(
        database=str(database),
        user=str(user),
        server_version=server_version(conn),
        in_recovery=bool(in_recovery),
        history_exists=bool(history_exists),
        read_only=bool(read_only),
    )


def server_encoding(conn: Conn) -> str:
    """The database's encoding, from the connection's startup parameters (no round trip)."""
    value = conn.info.parameter_status("server_encoding")
    return value or "UTF8"


def server_version(conn: Conn) -> str:
    """``18.4``-style version from the connection's startup parameters (no round trip)."""
    num = conn.info.server_version
    return f"{num // 10000}.{num % 100}"

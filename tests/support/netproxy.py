"""A TCP proxy on 127.0.0.1 in front of the test server, to break the network for real.

- ``black_hole()``: every byte is swallowed from then on, both ways, on open and new
  connections alike, while every socket stays open: a partition as a firewall or a dead NAT
  makes it (keepalives are answered by the proxy's kernel, so only a watchdog can tell).
- ``black_hole(existing_only=True)``: the same for the connections open now; new ones pass.
- ``black_hole(keep_open=True)``: as above, and a connection the server closes stays open
  to the client too (a partition delivers no FIN): only the client's own watchdog can tell.
- ``mute_after_handshake()``: from then on, new connections are set up normally (startup,
  authentication) and then hear nothing more: the first query of a command never gets its
  reply, as when a firewall drops a connection's state just after it was made.
- ``lose_reply_to_commit()``: the next ``COMMIT`` is forwarded to the server, its reply is
  swallowed, then the client's connection is cut: the commit happened, the client never hears.
  ``lose_reply_to(marker)`` does the same for the next message holding ``marker``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from psycopg import conninfo

# ReadyForQuery, idle: the last message of a connection's startup.
_READY = b"Z\x00\x00\x00\x05I"


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    silent: bool = False
    commit_sent: bool = False
    mute_when_ready: bool = False
    keep_open: bool = False


@dataclass
class Proxy:
    upstream: dict[str, str]
    listener: socket.socket = field(init=False)
    links: list[_Link] = field(default_factory=list)
    partitioned: bool = False
    watch_commit: bool = False
    watch_marker: bytes = b"COMMIT"
    keep_open: bool = False
    mute_new: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False

    def __post_init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def dsn(self, dsn: str) -> str:
        """``dsn`` rerouted through the proxy (its user, database and password kept)."""
        return conninfo.make_conninfo(dsn, host="127.0.0.1", port=str(self.port))

    def black_hole(self, *, existing_only: bool = False, keep_open: bool = False) -> None:
        with self._lock:
            for link in self.links:
                link.silent = True
                link.keep_open = keep_open
            if not existing_only:
                self.partitioned = True
                self.keep_open = keep_open

    def mute_after_handshake(self) -> None:
        self.mute_new = True

    def lose_reply_to_commit(self) -> None:
        self.lose_reply_to(b"COMMIT")

    def lose_reply_to(self, marker: bytes) -> None:
        self.watch_marker = marker
        self.watch_commit = True

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        with self._lock:
            for link in self.links:
                for sock in (link.client, link.server):
                    with contextlib.suppress(OSError):
                        sock.close()

    def _connect_upstream(self) -> socket.socket:
        host, port = self.upstream.get("host", "localhost"), self.upstream.get("port", "5432")
        if host.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(f"{host}/.s.PGSQL.{port}")
            return sock
        return socket.create_connection((host, int(port)))

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = self._connect_upstream()
            except OSError:
                client.close()  # the server is down: the client sees a refused connection
                continue
            link = _Link(
                client=client,
                server=server,
                silent=self.partitioned,
                keep_open=self.keep_open,
                mute_when_ready=self.mute_new,
            )
            with self._lock:
                self.links.append(link)
            threading.Thread(target=self._pump, args=(link, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(link, False), daemon=True).start()

    def _pump(self, link: _Link, to_server: bool) -> None:
        src, dst = (link.client, link.server) if to_server else (link.server, link.client)
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                if not (link.silent and link.keep_open):
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                return
            if link.silent:
                continue  # swallowed: the sockets stay open, nothing arrives
            if not to_server and link.mute_when_ready and _READY in data:
                # The handshake's ReadyForQuery goes through; nothing after it.
                link.mute_when_ready = False
                link.silent = True
            if not to_server and link.commit_sent:
                # The server committed and answered; the client never hears it.
                link.silent = True
                # shutdown, not just close: the other pump thread is blocked in recv on this
                # socket, and a close would wait for it before anything reaches the client.
                with contextlib.suppress(OSError):
                    link.client.shutdown(socket.SHUT_RDWR)
                return
            if to_server and self.watch_commit and self.watch_marker in data:
                # Marked before it is forwarded: the reply can arrive, on the other pump's
                # thread, before sendall returns here.
                self.watch_commit = False
                link.commit_sent = True
            try:
                dst.sendall(data)
            except OSError:
                return


@contextlib.contextmanager
def proxy_for(dsn: str) -> Iterator[Proxy]:
    proxy = Proxy(upstream={k: str(v) for k, v in conninfo.conninfo_to_dict(dsn).items()})
    try:
        yield proxy
    finally:
        proxy.close()

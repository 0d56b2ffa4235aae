"""A role that must log in with its password (the ``scram_role`` fixture): on the embedded
server every other local login is trusted."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import psycopg
from psycopg import conninfo


@dataclass(frozen=True)
class ScramRole:
    """A login role that must authenticate with scram-sha-256 over the server's socket."""

    name: str
    password: str

    def dsn(self, database_dsn: str, password: str) -> str:
        """``database_dsn`` logged in as this role with ``password`` (right or wrong)."""
        return conninfo.make_conninfo(database_dsn, user=self.name, password=password)


class MakeScramRole(Protocol):
    """The ``scram_role`` fixture: creates the role with its password, for this test only."""

    def __call__(self, password: str, *, superuser: bool = False) -> ScramRole: ...


def wait_until_password_required(server_dsn: str, role: ScramRole) -> None:
    """Until the server has reloaded pg_hba.conf: a wrong password is refused (trusted before)."""
    wrong = role.dsn(server_dsn, f"not-{role.password}")
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(wrong).close()
        except psycopg.OperationalError as error:
            if "password authentication failed" in str(error):
                return
            raise
        assert time.monotonic() < deadline, "pg_hba.conf never reloaded"
        time.sleep(0.05)

"""A throwaway database to run migrations in: on a throwaway embedded server (the default), or
created on a server given by flag and dropped afterwards. ``fixtures update`` builds its
fixtures in one, ``rehearse`` measures the pending migrations in one."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from psycopg import conninfo, sql

from gordon_migrate.core import db
from gordon_migrate.core import dsn as dsn_module
from gordon_migrate.core.dsn import Dsn, one_line
from gordon_migrate.core.errors import GordonError, ServerError


@dataclass(frozen=True)
class Scratch:
    database: Dsn
    """The throwaway database."""
    server: Dsn
    """An administrative DSN of its server (another scratch database can be made there)."""


@contextmanager
def scratch_database(
    server: Dsn | None,
    *,
    pg_version: int,
    prefix: str,
    purpose: str,
    refused: type[GordonError],
    needs: str,
    template: str | None = None,
    disk: bool = False,
) -> Iterator[Scratch]:
    """A database named ``<prefix>_<random>``: on ``server`` (which must let this role CREATE
    DATABASE; else ``refused``, saying what ``needs`` it), dropped after, or on a throwaway
    embedded server of ``pg_version`` (a copy of the cached pristine cluster: no initdb),
    stopped and deleted after. On ``server``, ``template``
    names a database of it to copy instead of ``template1``. The embedded server's data is
    on a RAM disk when there is one (``settings.scratch_parent``), unless ``disk``."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    if server is None:
        from gordon_migrate.core import embedded
        from gordon_migrate.core.settings import Settings, cache_dir, scratch_parent

        with tempfile.TemporaryDirectory(
            prefix=f"{prefix.replace('_', '-')}-", dir=scratch_parent(Settings(), disk=disk)
        ) as where:
            instance = embedded.start(
                Path(where) / "pg", pg_version, keep=False, pristine=cache_dir(Settings())
            )
            try:
                database = dsn_module.parse(embedded.ensure_database(instance, name))
                yield Scratch(database=database, server=dsn_module.parse(instance.admin_dsn))
            finally:
                instance.stop()
        return
    # Open while the scratch is used (longer than --network-timeout on a slow machine): its
    # two statements are bounded by the server, not by a lifetime watchdog.
    with db.connection(
        server,
        purpose=purpose,
        doing="creating or dropping a scratch database",
        guarded=False,
    ) as admin:
        try:
            with db.mapped():
                create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                if template is not None:
                    create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
                admin.execute(create)
        except ServerError as exc:
            raise refused(
                f"cannot create a scratch database on {server.redacted}: "
                f"{one_line(server.scrub(str(exc)))}; {needs} a scratch server where this role "
                "may CREATE DATABASE"
            ) from None
        try:
            database = dsn_module.parse(conninfo.make_conninfo(server.value, dbname=name))
            yield Scratch(database=database, server=server)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

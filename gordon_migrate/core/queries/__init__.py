"""The SQL about backend sessions and their locks, one ``.sql`` file per query beside this
module, loaded by name (as pg_activity keeps its queries): each query reads whole, as SQL,
and every ``pg_locks`` x ``pg_stat_activity`` join of the core is in this folder. They run
with parameters (``%(pid)s``), so a literal ``%`` is written ``%%``.

Two bases hold what the queries share, each written once: ``_sessions.sql`` (every backend of
this database, as a Session) and ``_holders.sql`` (every lock with its session, as a Holder).
A query selects from one through a line ``-- include: _NAME`` (inside a ``WITH``), which
``load`` replaces with that file's text. A base is not a query: ``names`` leaves it out.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_BASE = re.compile(r"_[a-z][a-z0-9_]*")
_INCLUDE = re.compile(r"^-- include: (\S+)$", re.MULTILINE)


def names() -> list[str]:
    """Every query this folder holds, by name (the bases they include are not queries)."""
    return sorted(path.stem for path in _HERE.glob("*.sql") if _NAME.fullmatch(path.stem))


@cache
def load(name: str) -> str:
    """The text of ``name``.sql, its includes expanded (read once). Raises ``LookupError``
    for a name not here."""
    # The name check keeps a path (``../x``) from reading outside this folder.
    if not _NAME.fullmatch(name):
        raise LookupError(f"no query named {name!r} in {_HERE}")
    return _INCLUDE.sub(lambda m: _base(m.group(1)), _read(name))


def _base(name: str) -> str:
    if not _BASE.fullmatch(name):
        raise LookupError(f"no base named {name!r} in {_HERE} (a base's name starts with _)")
    return _read(name).rstrip("\n")


def _read(name: str) -> str:
    path = _HERE / f"{name}.sql"
    if not path.is_file():
        raise LookupError(f"no query named {name!r} in {_HERE}")
    return path.read_text(encoding="utf-8")

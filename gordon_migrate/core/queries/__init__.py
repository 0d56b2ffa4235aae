"""The SQL about backend sessions and their locks, one ``.sql`` file per query beside this
module, loaded by name (as pg_activity keeps its queries): each query reads whole, as SQL,
and every ``pg_locks`` x ``pg_stat_activity`` join of the core is in this folder. They run
with parameters (``%(pid)s``), so a literal ``%`` is written ``%%``."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_HERE = Path(__file__).parent
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def names() -> list[str]:
    """Every query this folder holds, by name."""
    return sorted(path.stem for path in _HERE.glob("*.sql"))


@cache
def load(name: str) -> str:
    """The text of ``name``.sql (read once). Raises ``LookupError`` for a name not here."""
    path = _HERE / f"{name}.sql"
    # The name check keeps a path (``../x``) from reading outside this folder.
    if not _NAME.fullmatch(name) or not path.is_file():
        raise LookupError(f"no query named {name!r} in {_HERE}")
    return path.read_text(encoding="utf-8")

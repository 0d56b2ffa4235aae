"""Split a migration into statements, keeping where each starts (for error line numbers).

Statements are sent one by one, as ``psql -f`` does: the server then says which statement
failed even when its error carries no position (lock_timeout, constraint violations), and
``CREATE INDEX CONCURRENTLY`` works in a no-transaction migration of several statements.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Statement:
    text: str
    start: int  # character offset in the file


def comment_end(sql: str, i: int) -> int | None:
    """Where the comment starting at ``sql[i]`` ends (a ``--`` comment before its line break,
    a ``/* */`` comment after its close, nested as the server nests them; an unterminated one
    at the end); None when no comment starts there."""
    if sql.startswith("--", i):
        ends = [e for e in (sql.find("\n", i), sql.find("\r", i)) if e >= 0]
        return min(ends) if ends else len(sql)
    if not sql.startswith("/*", i):
        return None
    depth, i, n = 1, i + 2, len(sql)
    while i < n and depth:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def split(sql: str) -> list[Statement]:
    """Statements of ``sql`` by Postgres's own grammar (libpg_query through pglast).

    When pglast cannot parse the file (a syntax error, or grammar newer than it knows), the
    file is sent whole: the server then reports the error and its position itself.
    """
    from pglast import split as pg_split  # the parser is only paid for when there is work
    from pglast.parser import ParseError

    try:
        slices = list(pg_split(sql, with_parser=True, only_slices=True))
    except ParseError:
        return [Statement(text=sql, start=0)]
    return [Statement(text=sql[s.start : s.stop], start=s.start or 0) for s in slices]

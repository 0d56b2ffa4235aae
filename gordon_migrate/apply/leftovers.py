"""What a dirty no-transaction migration left behind, as the server shows it.

A ``-- no-transaction`` migration that failed or was interrupted may have built part of what it
builds: an index a ``CREATE INDEX CONCURRENTLY`` left INVALID, the ``_ccnew``/``_ccold``
copies of a ``REINDEX ... CONCURRENTLY``. Every such step is recognised from the migration's
own statements (parsed, never a hand list) and looked up in the catalogs: when everything it
left is something the tool can undo (its own INVALID indexes, used by no constraint), apply
drops them with ``DROP INDEX CONCURRENTLY`` and runs the migration again; anything else (a
statement kind it cannot redo, a valid index by that name with another definition, an index
someone else made) stays a refusal naming the object and the exact steps.

``repair`` reads the same facts to verify what the operator says (``--done``: everything the
migration builds is there and valid; ``--undone``: none of it is, an INVALID index counting as
there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from gordon_migrate.sql.split import split

if TYPE_CHECKING:
    from pglast import ast

    from gordon_migrate.apply.status import DatabaseStatus
    from gordon_migrate.core.bundle import Migration
    from gordon_migrate.core.db import Conn

Kind = Literal["create_index", "reindex", "drop_index", "other"]


@dataclass(frozen=True)
class Step:
    """One statement of the migration and what the server shows of its effect."""

    line: int
    text: str
    kind: Kind
    index: str | None = None
    """The index it builds or drops, schema-qualified (as the catalog names it)."""
    state: Literal["absent", "valid", "invalid", "other", "unknown"] = "unknown"
    invalid_copies: tuple[str, ...] = ()
    """INVALID indexes it left: its own INVALID index, or a REINDEX's _ccnew/_ccold copies."""
    problem: str | None = None
    """Why this step cannot be undone and redone by the tool (None: it can)."""


@dataclass(frozen=True)
class Leftovers:
    migration: Migration
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def drops(self) -> tuple[str, ...]:
        """The INVALID indexes a resume drops, in order."""
        return tuple(name for step in self.steps for name in step.invalid_copies)

    @property
    def refusal(self) -> str | None:
        """Why apply cannot resume the migration by itself (None: it can)."""
        problems = [f"line {s.line}: {s.problem}" for s in self.steps if s.problem]
        return "; ".join(problems) if problems else None

    def drop_commands(self) -> tuple[str, ...]:
        return tuple(f"DROP INDEX CONCURRENTLY IF EXISTS {name};" for name in self.drops)

    def present(self) -> tuple[str, ...]:
        """What of it the database holds, an INVALID index included (for ``--undone``)."""
        out: list[str] = []
        for step in self.steps:
            if step.kind == "create_index" and step.state in ("valid", "invalid"):
                out.append(f"index {step.index} ({step.state.upper()})")
            out += [f"index {name} (INVALID)" for name in step.invalid_copies if name != step.index]
        return tuple(out)

    def missing(self) -> tuple[str, ...]:
        """What it builds that the database lacks or holds INVALID (for ``--done``)."""
        out: list[str] = []
        for step in self.steps:
            if step.kind == "create_index" and step.state != "valid":
                out.append(
                    f"index {step.index} ({'INVALID' if step.state == 'invalid' else step.state})"
                )
            elif step.kind == "reindex" and step.invalid_copies:
                out.append(f"REINDEX of {step.index} (its INVALID copies remain)")
            elif step.kind == "drop_index" and step.state in ("valid", "invalid"):
                out.append(f"index {step.index} still exists")
        return tuple(out)

    def unchecked(self) -> tuple[str, ...]:
        """Statements whose effect the catalogs cannot confirm here."""
        return tuple(f"line {s.line}: {_short(s.text)}" for s in self.steps if s.kind == "other")


_INDEX = """
SELECT n.nspname || '.' || c.relname, c.relkind::text,
       coalesce(i.indisvalid AND i.indisready, false),
       tn.nspname || '.' || t.relname, pg_get_indexdef(c.oid),
       (SELECT conname::text FROM pg_constraint WHERE conindid = c.oid LIMIT 1)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class t ON t.oid = i.indrelid
LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE c.oid = to_regclass(%s)
"""
_TABLE_SCHEMA = """
SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass(%s)
"""
# A REINDEX ... CONCURRENTLY interrupted part-way leaves copies named <index>_ccnew[N] (built,
# not yet swapped in) or <index>_ccold[N] (swapped out, not yet dropped), INVALID.
_REINDEX_COPIES = """
SELECT n.nspname || '.' || c.relname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = %(table)s::regclass AND NOT i.indisvalid
  AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = c.oid)
  AND c.relname ~ ('^(' || %(names)s || ')_cc(new|old)[0-9]*$')
ORDER BY 1
"""
_INDEXES_OF = """
SELECT c.relname::text
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = %s::regclass AND c.relname !~ '_cc(new|old)[0-9]*$'
"""
_INDEX_TABLE = """
SELECT tn.nspname || '.' || t.relname
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
WHERE i.indexrelid = to_regclass(%s)
"""


def inspect(conn: Conn, migration: Migration) -> Leftovers:
    """Each statement of ``migration`` with what the server shows of it (read-only)."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    steps: list[Step] = []
    for statement in split(migration.sql):
        line = migration.sql.count("\n", 0, statement.start) + 1
        try:
            parsed = parse_sql(statement.text)
        except ParseError:
            parsed = ()
        stmt = parsed[0].stmt if len(parsed) == 1 else None
        if isinstance(stmt, ast.IndexStmt) and stmt.concurrent and stmt.idxname:
            steps.append(_create_index(conn, line, statement.text, stmt))
        elif isinstance(stmt, ast.ReindexStmt) and _concurrent(stmt):
            steps.append(_reindex(conn, line, statement.text, stmt))
        elif (
            isinstance(stmt, ast.DropStmt)
            and stmt.removeType == _object_index()
            and stmt.concurrent
            and stmt.missing_ok
        ):
            steps.append(_drop_index(conn, line, statement.text, stmt))
        else:
            steps.append(
                Step(
                    line=line,
                    text=statement.text,
                    kind="other",
                    problem=(
                        f"`{_short(statement.text)}` is not a step apply can undo and redo by "
                        "itself (only CREATE INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY and "
                        "DROP INDEX CONCURRENTLY IF EXISTS are)"
                    ),
                )
            )
    return Leftovers(migration=migration, steps=tuple(steps))


def _create_index(conn: Conn, line: int, text: str, stmt: ast.IndexStmt) -> Step:
    rel = stmt.relation
    if rel is None:
        return Step(line=line, text=text, kind="other", problem="an index on no table")
    relation = _qualified(rel)
    if_not_exists = bool(stmt.if_not_exists)  # before _same_definition changes stmt
    schema = rel.schemaname or _schema_of(conn, relation)
    index = f"{schema}.{stmt.idxname}" if schema else str(stmt.idxname)
    row = conn.execute(_INDEX, (index,)).fetchone()
    if row is None:
        return Step(line=line, text=text, kind="create_index", index=index, state="absent")
    name, relkind, valid, table, definition, constraint = row
    base = Step(line=line, text=text, kind="create_index", index=str(name))
    if relkind not in ("i", "I"):
        return _with(base, "other", f"{name} exists and is not an index (relkind {relkind})")
    expected_table = f"{schema}.{rel.relname}" if schema else relation
    if str(table) != expected_table:
        return _with(
            base,
            "other",
            f"index {name} exists on {table}, not on {expected_table}: someone "
            "else made it; rename or drop it by hand",
        )
    if constraint is not None:
        return _with(
            base,
            "invalid" if not valid else "valid",
            f"index {name} is used by constraint {constraint}: drop or fix it by hand",
        )
    if not valid:
        return Step(
            line=line,
            text=text,
            kind="create_index",
            index=str(name),
            state="invalid",
            invalid_copies=(str(name),),
        )
    if not _same_definition(stmt, str(definition), schema):
        return _with(
            base,
            "valid",
            f"a valid index {name} exists with another definition "
            f"({definition}): someone else made it; drop or rename it by hand",
        )
    if not if_not_exists:
        return _with(
            base,
            "valid",
            f"index {name} is built and valid, and the statement has no IF NOT "
            "EXISTS: running it again would fail",
        )
    return Step(line=line, text=text, kind="create_index", index=str(name), state="valid")


def _reindex(conn: Conn, line: int, text: str, stmt: ast.ReindexStmt) -> Step:
    from pglast import enums

    rel = stmt.relation
    target = _qualified(rel) if rel is not None else ""
    if rel is not None and stmt.kind == enums.ReindexObjectType.REINDEX_OBJECT_INDEX:
        found = conn.execute(_INDEX_TABLE, (target,)).fetchone()
        table = str(found[0]) if found else None
        names = _regex_quote(str(rel.relname))
    elif rel is not None and stmt.kind == enums.ReindexObjectType.REINDEX_OBJECT_TABLE:
        found = conn.execute(_TABLE_SCHEMA, (target,)).fetchone()
        table = f"{found[0]}.{rel.relname}" if found else None
        rows = conn.execute(_INDEXES_OF, (table,)).fetchall() if table else []
        names = "|".join(_regex_quote(str(r[0])) for r in rows)
    else:
        return Step(
            line=line,
            text=text,
            kind="other",
            problem=f"`{_short(text)}` reindexes a schema or database: too wide to redo by itself",
        )
    if table is None or not names:
        return Step(line=line, text=text, kind="reindex", index=target, state="absent")
    copies = tuple(
        str(r[0]) for r in conn.execute(_REINDEX_COPIES, {"table": table, "names": names})
    )
    return Step(
        line=line, text=text, kind="reindex", index=target, state="valid", invalid_copies=copies
    )


def _drop_index(conn: Conn, line: int, text: str, stmt: ast.DropStmt) -> Step:
    names = [".".join(str(part.sval) for part in obj) for obj in (stmt.objects or ())]
    index = names[0] if names else ""
    row = conn.execute(_INDEX, (index,)).fetchone()
    state: Literal["absent", "valid", "invalid"] = "absent"
    if row is not None:
        state = "valid" if row[2] else "invalid"
    return Step(line=line, text=text, kind="drop_index", index=index, state=state)


def _with(step: Step, state: Literal["valid", "invalid", "other"], problem: str) -> Step:
    return Step(
        line=step.line,
        text=step.text,
        kind=step.kind,
        index=step.index,
        state=state,
        problem=problem,
    )


def _same_definition(stmt: ast.IndexStmt, definition: str, schema: str | None) -> bool:
    """The statement builds what the catalog holds: both parsed and printed the same way,
    the name, CONCURRENTLY and IF NOT EXISTS aside."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError
    from pglast.stream import RawStream

    try:
        parsed = parse_sql(definition)[0].stmt
    except ParseError:  # a definition pglast cannot read is not known to be the same
        return False
    if not isinstance(parsed, ast.IndexStmt):
        return False

    def normal(node: ast.IndexStmt) -> str:
        # Both nodes are parsed for this comparison only: changed in place.
        node.idxname = "x"
        node.concurrent = False
        node.if_not_exists = False
        if node.relation is not None and not node.relation.schemaname:
            node.relation.schemaname = schema
        return str(RawStream()(node))

    return normal(stmt) == normal(parsed)


def _concurrent(stmt: ast.ReindexStmt) -> bool:
    return any(getattr(p, "defname", None) == "concurrently" for p in (stmt.params or ()))


def _object_index() -> object:
    from pglast import enums

    return enums.ObjectType.OBJECT_INDEX


def _qualified(relation: ast.RangeVar) -> str:
    if relation.schemaname:
        return f"{relation.schemaname}.{relation.relname}"
    return str(relation.relname)


def _schema_of(conn: Conn, relation: str) -> str | None:
    row = conn.execute(_TABLE_SCHEMA, (relation,)).fetchone()
    return str(row[0]) if row else None


def _regex_quote(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else f"\\{ch}" for ch in name)


def _short(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= 60 else one[:57] + "..."


@dataclass(frozen=True)
class ResumePlan:
    """The dirty rows of a history, and whether apply can resume each by itself."""

    resumable: tuple[Leftovers, ...] = ()
    """Every dirty row when all of them can be resumed (empty otherwise)."""
    notes: dict[int, str] = field(default_factory=dict)
    """Per dirty version: what apply does with it, or why it cannot resume it."""


def plan_resume(conn: Conn, status: DatabaseStatus, bundle: Sequence[Migration]) -> ResumePlan:
    """Which dirty rows apply may resume: a ``-- no-transaction`` migration of this bundle,
    unchanged since its row was written, whose every step the tool can undo and redo. Any
    other problem in the history (a checksum mismatch, a version the bundle lacks) leaves
    everything to the refusals."""
    dirty = [m for m in status.problems if m.state == "failed"]
    if not dirty:
        return ResumePlan()
    by_version = {m.version: m for m in bundle}
    found: list[Leftovers] = []
    notes: dict[int, str] = {}
    for entry in dirty:
        migration = by_version.get(entry.version)
        row = status.history.get(entry.version)
        if migration is None or row is None:
            continue
        if not migration.no_transaction:
            continue  # a row this tool never leaves dirty: its message says so
        if row.checksum != migration.checksum:
            notes[entry.version] = (
                "apply does not resume it: the file was edited after its row was written"
            )
            continue
        left = inspect(conn, migration)
        if left.refusal is not None:
            notes[entry.version] = f"apply does not resume it by itself: {left.refusal}"
            continue
        drops = ", ".join(left.drops)
        notes[entry.version] = "apply resumes it by itself: " + (
            f"drops the INVALID index(es) {drops} it left, then runs it again"
            if drops
            else "runs it again (it left nothing to undo)"
        )
        found.append(left)
    every = len(found) == len(dirty) and len(status.problems) == len(dirty)
    return ResumePlan(resumable=tuple(found) if every else (), notes=notes)

"""Walk migrations statement by statement with pglast: the lock each one takes, and the points
where the rules (``gordon_migrate.lint.rules``, one module each) judge it from those facts.

Schema-aware: a ``Catalog`` is replayed from the earlier migrations of the bundle (which
relations, indexes, schemas and NOT NULL checks exist), and, with a live database, completed
by its relation sizes. A relation created earlier in the same migration is new and empty: lock
and rewrite hazards do not apply to it. Imported only when there is something to lint (pglast).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import PurePath
from typing import Literal

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError

from gordon_migrate.core.bundle import Migration
from gordon_migrate.lint import functions, locks, plpgsql
from gordon_migrate.lint.model import (
    Finding,
    LiveInfo,
    LockStep,
    Rehearsed,
    Severity,
    StatementPlan,
)
from gordon_migrate.lint.nodes import nodes_of
from gordon_migrate.lint.rules import (
    SMALL_TABLE_BYTES,
    SMALL_TABLE_ROWS,
    Hit,
    Rule,
    Site,
    registry,
)
from gordon_migrate.rehearse.cost import LONG_LOCK, blocking
from gordon_migrate.rehearse.pinned import PinnedStatement

# A line comment, or a (non-nested) block comment: what a fingerprint ignores.
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)

_QUALIFIED_NAME = re.compile(r"\b([A-Za-z_][A-Za-z0-9_$]*)\s*\.\s*([A-Za-z_][A-Za-z0-9_$]*)\b")

AT = enums.AlterTableType
CT = enums.ConstrType
OT = enums.ObjectType

ColumnType = tuple[str, tuple[int, ...]]


def _column_type(type_name: ast.TypeName | None) -> ColumnType | None:
    if type_name is None or type_name.arrayBounds:
        return None
    names = _strings(type_name.names)
    mods: list[int] = []
    for mod in type_name.typmods or ():
        if not (isinstance(mod, ast.A_Const) and isinstance(mod.val, ast.Integer)):
            return None
        mods.append(mod.val.ival or 0)
    return (names[-1].lower(), tuple(mods)) if names else None


def no_rewrite(old: ColumnType, new: ColumnType) -> bool:
    """Type changes PostgreSQL makes without rewriting the table (binary-coercible, a wider
    length or precision; the ALTER TABLE documentation): only the brief ACCESS EXCLUSIVE."""
    (old_name, old_mods), (new_name, new_mods) = old, new
    if old == new:
        return True
    if old_name in {"varchar", "text"} and new_name == "text":
        return True
    if old_name in {"varchar", "text"} and new_name == "varchar":
        return not new_mods or (old_name == "varchar" and bool(old_mods) and new_mods >= old_mods)
    if old_name == new_name == "numeric":
        if not new_mods:
            return True
        old_full = old_mods + (0,) * (2 - len(old_mods))
        new_full = new_mods + (0,) * (2 - len(new_mods))
        return bool(old_mods) and new_full[1] == old_full[1] and new_full[0] >= old_full[0]
    return False


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key: its triggers live on both tables, so dropping or re-creating it locks
    both."""

    table: str
    name: str
    columns: tuple[str, ...]
    referenced: str
    #: Empty when the referenced table's primary key is meant.
    referenced_columns: tuple[str, ...] = ()


#: The catalog's containers whose values are containers too (a view's sources, which
#: ``Catalog.rename`` changes in place; a function's signatures): copied a level deeper. The
#: others hold immutable values (strings, tuples, frozen dataclasses).
_IN_PLACE = frozenset({"view_sources", "functions"})


@dataclass
class Catalog:
    """What earlier migrations built, replayed from their statements."""

    relations: dict[str, str] = field(default_factory=dict)  # name -> table|view|matview
    indexes: dict[str, str] = field(default_factory=dict)  # schema.index -> schema.table
    schemas: set[str] = field(default_factory=set)
    #: (table, column) -> True when a validated CHECK (col IS NOT NULL) exists.
    not_null_checks: dict[tuple[str, str], bool] = field(default_factory=dict)
    check_columns: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, con)->col
    #: (table, column) -> (type name, type modifiers), from CREATE TABLE / ADD COLUMN / TYPE.
    columns: dict[tuple[str, str], ColumnType] = field(default_factory=dict)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    #: schema.sequence -> (table, column) of the identity or serial column that owns it.
    owned_sequences: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: view or materialized view -> the relations its query reads (what a CASCADE drops).
    view_sources: dict[str, set[str]] = field(default_factory=dict)
    #: schema.statistics -> its table.
    statistics: dict[str, str] = field(default_factory=dict)
    #: table -> the columns of its primary key (what a foreign key naming no column uses).
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: schema.function -> what the migrations' CREATE FUNCTION declared (its volatility).
    functions: functions.Declared = field(default_factory=dict)

    #: schema.function -> the DDL its PL/pgSQL body runs that lint cannot plan (an EXECUTE
    #: of a computed string, or DDL): what calling it in a migration hides.
    opaque_functions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: (schema.table, trigger) -> the schema.function it executes: a ``DROP FUNCTION ...
    #: CASCADE`` drops those triggers, under ACCESS EXCLUSIVE on each table.
    triggers: dict[tuple[str, str], str] = field(default_factory=dict)
    #: False once ``ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`` (the
    #: global form, for the migrating role) ran: new functions are then not PUBLIC's.
    public_executes_new_functions: bool = True

    def copy(self) -> Catalog:
        """An independent copy, for a file linted on its own after the bundle: each container
        copied, and the containers in them (``_IN_PLACE``); immutable values shared.
        ``copy.deepcopy`` of the whole catalog was three quarters of the time to lint 1,000 new
        files, a copy of every value a quarter."""
        clone = copy.copy(self)
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _IN_PLACE:
                setattr(clone, f.name, {k: v.copy() for k, v in value.items()})
            elif isinstance(value, dict | set | list):
                setattr(clone, f.name, value.copy())
        return clone

    def foreign_key(self, table: str, name: str) -> ForeignKey | None:
        return next((k for k in self.foreign_keys if k.table == table and k.name == name), None)

    def neighbours(self, table: str) -> list[str]:
        """The other table of every foreign key ``table`` has or is referenced by."""
        out: list[str] = []
        for key in self.foreign_keys:
            other = key.referenced if key.table == table else key.table
            if table in (key.table, key.referenced) and other != table and other not in out:
                out.append(other)
        return out

    def referencing(self, tables: Sequence[str]) -> list[str]:
        """Every table whose foreign keys reach one of ``tables``, however indirectly (what
        ``TRUNCATE ... CASCADE`` truncates too)."""
        found: list[str] = []
        todo = list(tables)
        while todo:
            table = todo.pop()
            for key in self.foreign_keys:
                if key.referenced == table and key.table not in tables and key.table not in found:
                    found.append(key.table)
                    todo.append(key.table)
        return found

    def sequences_of(self, table: str) -> list[str]:
        return sorted(s for s, (owner, _) in self.owned_sequences.items() if owner == table)

    def dependent_views(self, relation: str) -> list[str]:
        found: list[str] = []
        todo = [relation]
        while todo:
            source = todo.pop()
            for view, sources in self.view_sources.items():
                if source in sources and view not in found and view != relation:
                    found.append(view)
                    todo.append(view)
        return found

    def rename(self, old: str, new: str) -> None:
        """A relation renamed or moved to another schema: what the catalog knows of it
        follows (its owned sequences keep their own names)."""
        self.relations[new] = self.relations.pop(old, "table")
        self.foreign_keys = [
            replace(
                k,
                table=new if k.table == old else k.table,
                referenced=new if k.referenced == old else k.referenced,
            )
            for k in self.foreign_keys
        ]
        for sequence, (owner, column) in list(self.owned_sequences.items()):
            if owner == old:
                self.owned_sequences[sequence] = (new, column)
        if old in self.primary_keys:
            self.primary_keys[new] = self.primary_keys.pop(old)
        for name, table in list(self.statistics.items()):
            if table == old:
                self.statistics[name] = new
        for table, trigger in list(self.triggers):
            if table == old:
                self.triggers[(new, trigger)] = self.triggers.pop((table, trigger))
        if old in self.view_sources:
            self.view_sources[new] = self.view_sources.pop(old)
        for sources in self.view_sources.values():
            if old in sources:
                sources.discard(old)
                sources.add(new)

    def forget(self, relation: str) -> None:
        """A relation dropped: its foreign keys, sequences and statistics go with it."""
        self.relations.pop(relation, None)
        self.foreign_keys = [
            k for k in self.foreign_keys if relation not in (k.table, k.referenced)
        ]
        for sequence in self.sequences_of(relation):
            self.owned_sequences.pop(sequence, None)
        self.view_sources.pop(relation, None)
        for name in [s for s, t in self.statistics.items() if t == relation]:
            self.statistics.pop(name)
        for key in [k for k in self.triggers if k[0] == relation]:
            self.triggers.pop(key)

    def triggering(self, function: str) -> list[str]:
        """The tables with a trigger that executes ``function``."""
        return sorted({table for (table, _), f in self.triggers.items() if f == function})


@dataclass(frozen=True)
class Stmt:
    node: ast.Node
    start: int  # character offset of its first token
    text: str
    line: int
    col: int
    end_line: int


def _position(sql: str, offset: int) -> tuple[int, int]:
    line = sql.count("\n", 0, offset) + 1
    return line, offset - (sql.rfind("\n", 0, offset) + 1) + 1


def statements(sql: str) -> list[Stmt]:
    """Statements with their positions; raises ParseError."""
    out: list[Stmt] = []
    for raw in parse_sql(sql):
        start = raw.stmt_location or 0
        length = raw.stmt_len or len(sql) - start
        text = sql[start : start + length]
        line, col = _position(sql, start)
        assert raw.stmt is not None
        out.append(Stmt(raw.stmt, start, text, line, col, line + text.count("\n")))
    return out


def _name(rv: ast.RangeVar | None, catalog: Catalog) -> str:
    if rv is None:
        return "?"
    rel = rv.relname or "?"
    if rv.schemaname:
        return f"{rv.schemaname}.{rel}"
    matches = [n for n in catalog.relations if n.split(".", 1)[1] == rel]
    return matches[0] if len(matches) == 1 else f"public.{rel}"


def _strings(items: Sequence[object] | None) -> list[str]:
    return [s.sval or "" for s in items or () if isinstance(s, ast.String)]


def _qualified(parts: list[str]) -> str:
    return ".".join(parts) if len(parts) > 1 else f"public.{parts[0]}" if parts else "?"


def fingerprint(file: str, rule: str, statement: str) -> str:
    """What identifies a finding across edits that move it: the file's name, the rule and the
    statement with comments, case and whitespace normalized (not its line)."""
    text = _COMMENT.sub(" ", statement)
    normalized = " ".join(text.lower().split())
    key = f"{PurePath(file).name}\0{rule}\0{normalized}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


_QUALIFIED = re.compile(r'"?[\w$]+"?\."?[\w$]+"?')


def _object_names(obj: str) -> tuple[str, ...]:
    """How a statement may name an access change's object: ``trading.fills`` and ``fills``
    for ``trading.fills``, ``function trading.f(int)`` or ``trigger g on trading.fills``; the
    last word for ``schema trading`` or ``role gordon_api``."""
    qualified = [q.replace('"', "") for q in _QUALIFIED.findall(obj.split("(", 1)[0])]
    if qualified:
        return tuple(dict.fromkeys([*qualified, *(q.split(".", 1)[1] for q in qualified)]))
    words = obj.split()
    return (words[-1].strip('"'),) if words else ()


def _names_any(text: str, names: Sequence[str]) -> bool:
    plain = text.replace('"', "")
    return any(
        re.search(rf"(?<![\w$.]){re.escape(name)}(?![\w$])", plain, re.IGNORECASE) for name in names
    )


def _unquoted(name: str) -> str:
    return name.replace('"', "")


def seen_doing(
    work: Literal["rewrite", "scan", "lock"], statement: PinnedStatement, relation: str
) -> str | None:
    """What the rehearsal saw ``statement`` do to ``relation`` of the kind ``work`` names
    (``Rule.measures``), in words; None when it did not."""
    name = _unquoted(relation)
    if work in ("rewrite", "scan") and name in map(_unquoted, statement.rewritten):
        return "rewrote it"
    if work == "scan" and name in map(_unquoted, statement.scanned):
        return "scanned it"
    if work == "lock":
        for lock in statement.locks:
            if _unquoted(lock.object) == name and not lock.dead and blocking(lock.mode):
                return f"held {lock.mode}" + (f" through {lock.via}" if lock.via else "")
    return None


def load_allowlist(path: object) -> frozenset[str]:
    from pathlib import Path

    assert isinstance(path, Path)
    channels: set[str] = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        parts = raw.split("\t", 1)[0].split(" ", 1)
        if len(parts) == 2 and parts[0] == "channel":
            channels.add(parts[1].strip())
    return frozenset(channels)


class FileLinter:
    """Lints one migration against the catalog of the earlier ones, then updates it. The walk
    plans locks and replays the catalog; at each ``Site`` it asks the rules (``check``), which
    read this object's facts through ``rules.Facts`` (``catalog``, ``created`` via ``new``,
    ``plans``, ``no_transaction``, ``allowlist``, ``decided``, ``added_not_valid``). ``rehearsed``:
    what a rehearsal measured of this migration (given only by a run with a server: a static
    run has none): each error-level access change is an ``access_change`` site, and
    ``measured_here`` reads the current statement's measured locks."""

    def __init__(
        self,
        migration: Migration,
        catalog: Catalog,
        live: LiveInfo | None,
        allowlist: frozenset[str],
        label: str | None = None,
        rehearsed: Rehearsed | None = None,
    ) -> None:
        self.m = migration
        self.rehearsed = rehearsed
        self.catalog = catalog
        self.live = live
        self.allowlist = allowlist
        self.file = label or migration.filename
        self.no_transaction = migration.no_transaction
        self.created: set[str] = set()
        #: schema.function of every function or procedure this migration creates.
        self.created_routines: set[str] = set()
        self.decided: set[str] = set()
        self.decided_schemas: set[str] = set()
        self.needs_decision: list[tuple[str, Stmt]] = []
        self.added_not_valid: set[tuple[str, str]] = set()
        #: (schema.function, granted, grantee) of every GRANT/REVOKE EXECUTE (or ALL) on a
        #: function or procedure of this migration, in order; grantee "PUBLIC" for PUBLIC.
        self.routine_privileges: list[tuple[str, bool, str]] = []
        self.findings: list[Finding] = []
        self.plans: list[StatementPlan] = []
        #: The lock forms (``locks.BY_KEY``) planned so far: a site's are the ones since its start.
        self.forms: list[str] = []
        self._stmt: Stmt | None = None

    # -- helpers -------------------------------------------------------------------------
    def new(self, relation: str) -> bool:
        return relation in self.created

    def measured_here(self) -> tuple[PinnedStatement, tuple[str, ...]] | None:
        """The current statement as rehearsal measured it, and what the migration's earlier
        statements created there, as the rehearsal labels it (``table public.t``: a lock's
        ``f"{kind} {object}"``) (None: not rehearsed)."""
        if self.rehearsed is None or self._stmt is None:
            return None
        line = self._stmt.line
        found = next((s for s in self.rehearsed.statements if s.line == line), None)
        if found is None:
            return None
        earlier = tuple(r for s in self.rehearsed.statements if s.line < line for r in s.created)
        return found, earlier

    def relation(self, rv: ast.RangeVar | None) -> str:
        """The relation ``rv`` names, schema-qualified as the catalog knows it."""
        return _name(rv, self.catalog)

    def reindex_concurrently(self, node: ast.ReindexStmt) -> bool:
        return any(
            isinstance(d, ast.DefElem) and d.defname == "concurrently" for d in node.params or ()
        )

    def reindex_relation(self, node: ast.ReindexStmt) -> str:
        relation = _name(node.relation, self.catalog) if node.relation else node.name or "?"
        if node.kind == enums.ReindexObjectType.REINDEX_OBJECT_INDEX:
            relation = self._index_table(relation)
        return relation

    def check(self, site: Site) -> None:
        """Every rule listening to ``site.kind``, in registry order. A rule that raises is
        reported as ``internal-error`` on the statement; the other rules still run."""
        for rule in registry().values():
            if rule.check is None or site.kind not in rule.sites:
                continue
            try:
                hits = list(rule.check(site, self))
            # A rule is code over arbitrary SQL: a bug in one must not hide the others'
            # findings nor stop the walk (a blind except is what ruff forbids, so: the
            # exceptions a check's bug raises).
            except (
                ArithmeticError,
                AssertionError,
                AttributeError,
                LookupError,
                RuntimeError,
                TypeError,
                ValueError,
            ) as exc:
                self._crashed(rule, exc)
                continue
            for hit in hits:
                judged = self._as_measured(rule, hit)
                if judged is None:
                    continue  # the rehearsal showed the server does not do it
                self.report(
                    rule.id,
                    judged.message,
                    judged.relation,
                    scaled=judged.scaled,
                    severity=judged.severity,
                )

    def _as_measured(self, rule: Rule, hit: Hit) -> Hit | None:
        """``hit`` as the rehearsal of its statement judges it (``Rule.measures``): with what
        the server did, or None when it did not do it; as it is when nothing was measured."""
        work = hit.measures or rule.measures
        measured = self.measured_here()
        if work is None or measured is None or hit.relation is None:
            return hit
        seen = seen_doing(work, measured[0], hit.relation)
        if seen is None:
            return None
        return replace(hit, message=f"{hit.message} (rehearsal: {seen})")

    def reported_here(self, relation: str) -> bool:
        """A finding on the current statement already names ``relation``."""
        stmt = self._stmt
        if stmt is None:
            return False
        # A finding that names it in its words counts too (hidden-ddl names what it locked).
        named = re.compile(rf"(?<![\w.]){re.escape(relation)}(?!\w)")
        return any(
            f.line == stmt.line and (f.relation == relation or named.search(f.message))
            for f in self.findings
        )

    def _crashed(self, rule: Rule, exc: Exception) -> None:
        stmt = self._stmt
        first = " ".join(stmt.text.split())[:60] if stmt is not None else ""
        shown = f" on `{first}`" if first else ""
        self.report(
            "internal-error",
            f"rule {rule.id} crashed{shown}: {type(exc).__name__}: {exc} (the statement was not "
            f"judged by {rule.id}; every other rule ran)",
        )

    def severity(self, rule: str, relation: str | None) -> Severity:
        base = registry()[rule].severity
        if base == "error" and relation is not None and self.live is not None:
            size = self.live.sizes.get(relation)
            if (
                size is not None
                and size.known
                and size.rows_at_most < SMALL_TABLE_ROWS
                and size.bytes < SMALL_TABLE_BYTES
            ):
                return "warning"
        return base

    def size_note(self, relation: str | None) -> str:
        if relation is None or self.live is None or relation not in self.live.sizes:
            return ""
        size = self.live.sizes[relation]
        rows = (
            f"never analysed, up to {size.rows_at_most} rows by its pages"
            if size.rows < 0
            else f"~{int(size.rows)} rows"
        )
        if not size.known:
            return f" ({relation}: size not read, another session holds it locked)"
        if size.estimated:
            return (
                f" ({relation}: {rows}, ~{size.bytes // 1024} kB by the catalog: another "
                "session holds it locked)"
            )
        return f" ({relation}: {rows}, {size.bytes // 1024} kB live)"

    def report(
        self,
        rule: str,
        message: str,
        relation: str | None = None,
        *,
        scaled: bool = False,
        severity: Severity | None = None,
    ) -> None:
        stmt = self._stmt
        assert stmt is not None
        spec = registry()[rule]
        if severity is None:
            severity = self.severity(rule, relation) if scaled else spec.severity
        self.findings.append(
            Finding(
                file=self.file,
                line=stmt.line,
                col=stmt.col,
                rule=rule,
                severity=severity,
                message=message + (self.size_note(relation) if scaled else ""),
                why=spec.why,
                fix=spec.fix,
                relation=relation,
                fingerprint=fingerprint(self.file, rule, stmt.text or message),
            )
        )

    def lock(self, form_key: str, relation: str, mode: str | None = None) -> None:
        form = locks.BY_KEY[form_key]
        held = mode or form.mode
        self.forms.append(form_key)
        self.plans[-1].steps.append(
            LockStep(
                relation=relation,
                mode=held,
                form=form.title,
                work=form.work,
                blocks=form.blocks if mode is None else locks.blocks(held),
                new_relation=self.new(relation),
                dead_index=form.dead_index and mode is None,
            )
        )

    # -- the walk ------------------------------------------------------------------------
    def run(self) -> None:
        self._stmt = Stmt(ast.SelectStmt(), 0, "", 1, 1, 1)
        self.check(Site("file", self.m.data))
        sql = self.m.parser_text
        try:
            stmts = statements(sql)
        except ParseError as exc:
            match = re.search(r"at index (\d+)", str(exc))
            line, col = _position(sql, int(match[1])) if match else (1, 1)
            self._stmt = Stmt(ast.SelectStmt(), 0, "", line, col, line)
            self.report("syntax-error", f"does not parse: {exc}")
            self.check_access([])
            return
        for stmt in stmts:
            self._stmt = stmt
            self.plans.append(StatementPlan(line=stmt.line, sql=stmt.text))
            self.visit(stmt.node)
            self.check(Site("statement", stmt.node, text=stmt.text))
        for stmt in stmts:
            self._stmt = stmt
            self.check(Site("file_statement", stmt.node, count=len(stmts), text=stmt.text))
        for relation, stmt in self.needs_decision:
            self._stmt = stmt
            self.check(Site("new_relation", stmt.node, relation))
        self.check_access(stmts)
        self.apply_waivers(stmts)

    def check_access(self, stmts: list[Stmt]) -> None:
        """Each measured access change, on the first statement that names its object (the
        delta is measured per migration, not per statement: naming is the best anchor there is,
        and where a waiver goes), else on line 1."""
        for change in self.rehearsed.access if self.rehearsed is not None else ():
            names = _object_names(change.object)
            found = next((s for s in stmts if _names_any(s.text, names)), None)
            self._stmt = found or Stmt(ast.SelectStmt(), 0, "", 1, 1, 1)
            self.check(Site("access_change", change, name=change.object))

    def apply_waivers(self, stmts: list[Stmt]) -> None:
        for waiver in self.m.waivers:
            line, rule, reason = waiver.line, waiver.rule, waiver.reason
            here = Stmt(ast.SelectStmt(), waiver.start, "", line, waiver.col, line)
            self._stmt = here
            if rule not in registry() and rule != LONG_LOCK:
                self.report("waiver-unknown-rule", f"gordon:allow names no rule: {rule!r}")
                continue
            if not reason:
                self.report("waiver-without-reason", f"gordon:allow {rule} gives no reason")
                continue
            if rule == LONG_LOCK:
                continue  # apply's lock-hold gate reads it, with the target's sizes
            target = next((s for s in stmts if s.line <= line <= s.end_line), None) or next(
                (s for s in stmts if s.start > waiver.start), None
            )
            matched = [
                f
                for f in self.findings
                if target is not None and f.rule == rule and f.line == target.line
            ]
            for finding in matched:
                finding.waived = True
                finding.waiver_reason = reason
            if not matched:
                self.report(
                    "waiver-unused",
                    f"gordon:allow {rule} waives nothing: the statement "
                    f"{'below' if target is not None else 'it belongs to'} has no {rule} finding",
                )

    def visit(self, node: ast.Node) -> None:
        handler = getattr(self, f"on_{type(node).__name__}", None)
        if handler is not None:
            handler(node)

    # -- statements ----------------------------------------------------------------------
    def on_CreateSchemaStmt(self, node: ast.CreateSchemaStmt) -> None:
        if node.schemaname:
            self.catalog.schemas.add(node.schemaname)

    def _created(self, relation: str, kind: str, stmt_replace: bool = False) -> None:
        existed = relation in self.catalog.relations
        self.catalog.relations[relation] = kind
        if stmt_replace and existed:
            return
        self.created.add(relation)
        if relation.split(".", 1)[0] in self.catalog.schemas and self._stmt is not None:
            self.needs_decision.append((relation, self._stmt))

    def on_CreateStmt(self, node: ast.CreateStmt) -> None:
        relation = _name(node.relation, self.catalog)
        known = relation in self.catalog.relations or (
            self.live is not None and relation in self.live.sizes
        )
        if node.if_not_exists and known:
            return
        self._created(relation, "table")
        for element in node.tableElts or ():
            constraints: Sequence[object] = ()
            column: str | None = None
            if isinstance(element, ast.ColumnDef):
                constraints = element.constraints or ()
                column = element.colname
                kind = _column_type(element.typeName)
                if kind is not None and element.colname:
                    self.catalog.columns[(relation, element.colname)] = kind
                self._owned_sequence(relation, element)
            elif isinstance(element, ast.Constraint):
                constraints = (element,)
            for con in constraints:
                if isinstance(con, ast.Constraint) and con.contype in (
                    CT.CONSTR_PRIMARY,
                    CT.CONSTR_UNIQUE,
                    CT.CONSTR_EXCLUSION,
                ):
                    self._constraint_index(relation, con, column)
                if isinstance(con, ast.Constraint) and con.contype == CT.CONSTR_PRIMARY:
                    keys = tuple(_strings(con.keys)) or ((column,) if column else ())
                    self.catalog.primary_keys[relation] = keys
                if isinstance(con, ast.Constraint) and con.contype == CT.CONSTR_FOREIGN:
                    target = self._foreign_key(relation, con, column)
                    if target != relation:
                        self.lock("create_table_references", target)

    def _foreign_key(self, relation: str, con: ast.Constraint, column: str | None) -> str:
        """Remember a foreign key of ``relation`` (named as PostgreSQL names it when the
        migration does not); returns the table it references."""
        target = _name(con.pktable, self.catalog)
        columns = tuple(_strings(con.fk_attrs)) or ((column,) if column else ())
        name = con.conname or f"{relation.split('.', 1)[1]}_{'_'.join(columns)}_fkey"
        self.catalog.foreign_keys.append(
            ForeignKey(relation, name, columns, target, tuple(_strings(con.pk_attrs)))
        )
        return target

    def _owned_sequence(self, relation: str, col: ast.ColumnDef) -> None:
        """An identity or serial column's sequence, named as PostgreSQL names it."""
        constraints = [c for c in col.constraints or () if isinstance(c, ast.Constraint)]
        type_name = (_strings(col.typeName.names) if col.typeName else [""])[-1].lower()
        if col.colname and (
            any(c.contype == CT.CONSTR_IDENTITY for c in constraints)
            or type_name in {"serial", "bigserial", "smallserial", "serial4", "serial8"}
        ):
            schema, table = relation.split(".", 1)
            sequence = f"{schema}.{table}_{col.colname}_seq"
            self.catalog.owned_sequences[sequence] = (relation, col.colname)

    def _lock_others(self, form_key: str, relations: Sequence[str]) -> None:
        for other in relations:
            self.lock(form_key, other)

    def on_CreateTableAsStmt(self, node: ast.CreateTableAsStmt) -> None:
        if node.into is not None:
            kind = "matview" if node.objtype == OT.OBJECT_MATVIEW else "table"
            relation = _name(node.into.rel, self.catalog)
            self._created(relation, kind)
            if kind == "matview":
                self.catalog.view_sources[relation] = {
                    _name(rv, self.catalog) for rv in nodes_of(node.query, ast.RangeVar)
                }

    def on_ViewStmt(self, node: ast.ViewStmt) -> None:
        view = _name(node.view, self.catalog)
        replaced = bool(node.replace) and view in self.catalog.relations
        self._created(view, "view", bool(node.replace))
        if replaced:
            self.lock("create_or_replace_view", view)
        sources = {_name(rv, self.catalog) for rv in nodes_of(node.query, ast.RangeVar)}
        self.catalog.view_sources[view] = sources
        for rv in nodes_of(node.query, ast.RangeVar):
            self.lock("create_view", _name(rv, self.catalog))

    def on_RefreshMatViewStmt(self, node: ast.RefreshMatViewStmt) -> None:
        form = "refresh_matview_concurrently" if node.concurrent else "refresh_matview"
        self.lock(form, _name(node.relation, self.catalog))

    def on_CreateSeqStmt(self, node: ast.CreateSeqStmt) -> None:
        # New and unused: only ``new`` needs to know (a sequence is no relation the rules size).
        self.created.add(_name(node.sequence, self.catalog))

    def on_AlterSeqStmt(self, node: ast.AlterSeqStmt) -> None:
        self.lock("alter_sequence", _name(node.sequence, self.catalog))

    def on_AlterPolicyStmt(self, node: ast.AlterPolicyStmt) -> None:
        self.lock("create_policy", _name(node.table, self.catalog))

    def on_CreateStatsStmt(self, node: ast.CreateStatsStmt) -> None:
        tables = [
            _name(rv, self.catalog) for rv in node.relations or () if isinstance(rv, ast.RangeVar)
        ]
        names = _strings(node.defnames)
        if names and tables:
            schema = names[0] if len(names) > 1 else tables[0].split(".", 1)[0]
            self.catalog.statistics[f"{schema}.{names[-1]}"] = tables[0]
        self._lock_others("create_statistics", tables)

    def on_CreatePublicationStmt(self, node: ast.CreatePublicationStmt) -> None:
        self._publication(node.pubobjects)

    def on_AlterPublicationStmt(self, node: ast.AlterPublicationStmt) -> None:
        self._publication(node.pubobjects)

    def _publication(self, objects: Sequence[object] | None) -> None:
        for spec in objects or ():
            if isinstance(spec, ast.PublicationObjSpec) and spec.pubtable is not None:
                self.lock("publication", _name(spec.pubtable.relation, self.catalog))

    def on_AlterObjectSchemaStmt(self, node: ast.AlterObjectSchemaStmt) -> None:
        if node.relation is None or node.objectType not in (
            OT.OBJECT_TABLE,
            OT.OBJECT_VIEW,
            OT.OBJECT_MATVIEW,
            OT.OBJECT_SEQUENCE,
            OT.OBJECT_FOREIGN_TABLE,
        ):
            return
        relation = _name(node.relation, self.catalog)
        self.lock("set_schema", relation)
        sequences = self.catalog.sequences_of(relation)
        self._lock_others("owned_sequence", sequences)
        schema = node.newschema or "public"
        moved = f"{schema}.{relation.split('.', 1)[1]}"
        self.catalog.rename(relation, moved)
        for sequence in sequences:
            owner = self.catalog.owned_sequences.pop(sequence)
            self.catalog.owned_sequences[f"{schema}.{sequence.split('.', 1)[1]}"] = (
                moved,
                owner[1],
            )

    def on_IndexStmt(self, node: ast.IndexStmt) -> None:
        relation = _name(node.relation, self.catalog)
        if node.idxname:
            self.catalog.indexes[f"{relation.split('.', 1)[0]}.{node.idxname}"] = relation
        if node.concurrent:
            self.lock("create_index_concurrently", relation)
            return
        self.lock("create_index", relation)

    def _index_table(self, index: str) -> str:
        if index in self.catalog.indexes:
            return self.catalog.indexes[index]
        if self.live is not None and index in self.live.indexes:
            return self.live.indexes[index]
        return index

    def _tables_in(self, schema: str | None) -> list[str]:
        """The tables and materialized views of ``schema`` (of every schema: None) that the
        migrations made or the live database has: what a REINDEX SCHEMA or DATABASE rebuilds
        the indexes of."""
        found = {r for r, kind in self.catalog.relations.items() if kind in ("table", "matview")}
        if self.live is not None:
            found |= set(self.live.sizes)
        return sorted(r for r in found if schema is None or r.split(".", 1)[0] == schema)

    def _indexes_of(self, table: str) -> list[str]:
        found = {i for i, t in self.catalog.indexes.items() if t == table}
        if self.live is not None:
            found |= {i for i, t in self.live.indexes.items() if t == table}
        return sorted(found)

    def _constraint_index(self, relation: str, con: ast.Constraint, column: str | None) -> None:
        """The index a PRIMARY KEY, UNIQUE or EXCLUDE constraint builds: the constraint's
        name, or, when it has none, the name PostgreSQL chooses for a key (``ChooseIndexName``:
        the table, then the columns of a UNIQUE, then ``pkey``/``key``). A name it would
        shorten, and an unnamed EXCLUDE, are left out."""
        if con.indexname:
            return  # USING INDEX: the index exists, under the name it will take
        schema, table = relation.split(".", 1)
        if con.conname:
            name = con.conname
        elif con.contype == CT.CONSTR_PRIMARY:
            name = f"{table}_pkey"
        elif con.contype == CT.CONSTR_UNIQUE:
            name = "_".join([table, *(_strings(con.keys) or [column or ""]), "key"])
        else:
            return
        if len(name) <= 63:
            self.catalog.indexes[f"{schema}.{name}"] = relation

    def on_DropStmt(self, node: ast.DropStmt) -> None:
        kind = node.removeType
        for obj in node.objects or ():
            if isinstance(obj, ast.ObjectWithArgs):
                # A function: its CASCADE drops the triggers that execute it (without, the
                # server refuses while they exist).
                if node.behavior == enums.DropBehavior.DROP_CASCADE:
                    function = _qualified(_strings(obj.objname))
                    tables = self.catalog.triggering(function)
                    self._lock_others("drop_function_cascade", tables)
                    for key in [k for k, f in self.catalog.triggers.items() if f == function]:
                        self.catalog.triggers.pop(key)
                continue
            parts = _strings(obj) if isinstance(obj, tuple) else _strings((obj,))
            if not parts:
                continue
            mark = len(self.forms)
            if kind == OT.OBJECT_INDEX:
                index = _qualified(parts)
                relation = self._index_table(index)
                self.catalog.indexes.pop(index, None)
                self.lock("drop_index_concurrently" if node.concurrent else "drop_index", relation)
                if node.concurrent:
                    self.lock("drop_index_concurrently_end", index)
                self._dropped(node, relation, index, mark)
            elif kind in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW):
                relation = _qualified(parts)
                self.lock("drop_table", relation)
                self._lock_others("foreign_key_other_table", self.catalog.neighbours(relation))
                self._lock_others("owned_sequence", self.catalog.sequences_of(relation))
                if node.behavior == enums.DropBehavior.DROP_CASCADE:
                    self._lock_others("drop_table", self.catalog.dependent_views(relation))
                self._dropped(node, relation, relation, mark)
                self.catalog.forget(relation)
                self.created.discard(relation)
            elif kind == OT.OBJECT_SEQUENCE:
                sequence = _qualified(parts)
                self.lock("drop_sequence", sequence)
                self.catalog.owned_sequences.pop(sequence, None)
            elif kind == OT.OBJECT_STATISTIC_EXT:
                table = self.catalog.statistics.pop(_qualified(parts), None)
                if table is not None:
                    self.lock("create_statistics", table)
            elif kind == OT.OBJECT_SCHEMA:
                schema = parts[0]
                dropped = [r for r in self.catalog.relations if r.startswith(f"{schema}.")]
                self.check(Site("drop_object", node, None, name=schema))
                for relation in dropped:
                    self.catalog.relations.pop(relation, None)
            elif kind == OT.OBJECT_TRIGGER and len(parts) >= 2:
                table = _qualified(parts[:-1])
                self.lock("drop_trigger", table)
                self.catalog.triggers.pop((table, parts[-1]), None)
            elif kind == OT.OBJECT_POLICY and len(parts) >= 2:
                self.lock("create_policy", _qualified(parts[:-1]))

    def _dropped(self, node: ast.DropStmt, relation: str, name: str, mark: int) -> None:
        self.check(
            Site(
                "drop_object",
                node,
                relation,
                existing=not self.new(relation),
                name=name,
                forms=tuple(self.forms[mark:]),
            )
        )

    def on_AlterTableStmt(self, node: ast.AlterTableStmt) -> None:
        relation = _name(node.relation, self.catalog)
        if node.objtype == OT.OBJECT_INDEX:
            # SET (...), ATTACH PARTITION, ...: the index's lock, which its table's readers need.
            self.lock("alter_index", self._index_table(relation))
            return
        for cmd in node.cmds or ():
            if isinstance(cmd, ast.AlterTableCmd):
                mark = len(self.forms)
                existing = not self.new(relation)
                self.alter_cmd(relation, cmd)
                self.check(
                    Site(
                        "alter_cmd",
                        cmd,
                        relation,
                        existing=existing,
                        name=cmd.name or "",
                        forms=tuple(self.forms[mark:]),
                    )
                )

    def alter_cmd(self, relation: str, cmd: ast.AlterTableCmd) -> None:
        sub = cmd.subtype
        existing = not self.new(relation)
        if sub == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            self.add_column(relation, cmd.def_, existing)
        elif sub == AT.AT_AlterColumnType:
            key = (relation, cmd.name or "")
            old = self.catalog.columns.get(key)
            new = _column_type(cmd.def_.typeName) if isinstance(cmd.def_, ast.ColumnDef) else None
            using = isinstance(cmd.def_, ast.ColumnDef) and cmd.def_.raw_default is not None
            if new is not None:
                self.catalog.columns[key] = new
            # The column's foreign keys are dropped and re-created, rewrite or not.
            others = self._keys_on_column(relation, cmd.name or "")
            if old is not None and new is not None and not using and no_rewrite(old, new):
                self.lock("alter_column_type_coercible", relation)
                self._lock_others("foreign_key_other_table", others)
                return
            self.lock("alter_column_type", relation)
            self._lock_others("foreign_key_other_table", others)
        elif sub == AT.AT_SetNotNull:
            self.lock("set_not_null", relation)
        elif sub == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            self.add_constraint(relation, cmd.def_, existing)
        elif sub == AT.AT_ValidateConstraint:
            self.lock("validate_constraint", relation)
            column = self.catalog.check_columns.get((relation, cmd.name or ""))
            if column is not None:
                self.catalog.not_null_checks[(relation, column)] = True
        elif sub == AT.AT_DropColumn:
            self.lock("drop_column", relation)
            self._lock_others(
                "foreign_key_other_table", self._keys_on_column(relation, cmd.name or "")
            )
        elif sub in (AT.AT_ColumnDefault,):
            self.lock("set_default", relation)
        elif sub == AT.AT_DropNotNull:
            self.lock("drop_not_null", relation)
        elif sub == AT.AT_DropConstraint:
            self.lock("drop_constraint", relation)
            dropped = self.catalog.foreign_key(relation, cmd.name or "")
            if dropped is not None:
                if dropped.referenced != relation:
                    self.lock("foreign_key_other_table", dropped.referenced)
                self.catalog.foreign_keys.remove(dropped)
        elif sub in (AT.AT_SetStatistics, AT.AT_SetRelOptions, AT.AT_ResetRelOptions):
            self.lock("set_statistics", relation)
        elif sub in (AT.AT_SetOptions, AT.AT_ResetOptions):
            self.lock("set_column_options", relation)
        elif sub in (AT.AT_ClusterOn, AT.AT_DropCluster):
            self.lock("cluster_on", relation)
        elif sub in (AT.AT_SetIdentity, AT.AT_DropIdentity, AT.AT_AddIdentity):
            self.identity(relation, cmd)
        elif sub in (AT.AT_AttachPartition, AT.AT_DetachPartition) and isinstance(
            cmd.def_, ast.PartitionCmd
        ):
            self.partition(relation, sub, cmd.def_)
        elif sub in (AT.AT_AddInherit, AT.AT_DropInherit) and isinstance(cmd.def_, ast.RangeVar):
            self.lock("alter_table_other", relation)
            self.lock("inherit", _name(cmd.def_, self.catalog))
        elif sub in (AT.AT_EnableRowSecurity, AT.AT_ForceRowSecurity):
            self.lock("enable_rls", relation)
        elif sub in (AT.AT_SetLogged, AT.AT_SetUnLogged):
            self.lock("set_logged", relation)
        elif sub is not None and sub.name.startswith(
            ("AT_EnableTrig", "AT_DisableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig")
        ):
            self.lock("enable_trigger", relation)
        else:
            self.lock("alter_table_other", relation)

    def _keys_on_column(self, relation: str, column: str) -> list[str]:
        """The other tables of the foreign keys that use ``relation.column`` (either side; a
        key naming no referenced column uses the primary key: when the bundle does not show
        it, this column is assumed to be in it)."""
        out: list[str] = []
        for key in self.catalog.foreign_keys:
            if key.table == relation and column in key.columns:
                other = key.referenced
            elif key.referenced == relation and column in (
                key.referenced_columns or self.catalog.primary_keys.get(relation, (column,))
            ):
                other = key.table
            else:
                continue
            if other != relation and other not in out:
                out.append(other)
        return out

    def identity(self, relation: str, cmd: ast.AlterTableCmd) -> None:
        self.lock("alter_table_other", relation)
        column = cmd.name or ""
        schema, table = relation.split(".", 1)
        sequence = f"{schema}.{table}_{column}_seq"
        if cmd.subtype == AT.AT_AddIdentity:
            self.catalog.owned_sequences[sequence] = (relation, column)
        elif cmd.subtype == AT.AT_SetIdentity:
            self.lock("identity_sequence", sequence)
        else:
            self.lock("owned_sequence", sequence)
            self.catalog.owned_sequences.pop(sequence, None)

    def partition(self, relation: str, sub: enums.AlterTableType, cmd: ast.PartitionCmd) -> None:
        part = _name(cmd.name, self.catalog)
        if sub == AT.AT_AttachPartition:
            self.lock("attach_partition", relation)
            self.lock("partition", part)
        elif cmd.concurrent:
            self.lock("detach_partition_concurrently", relation)
            self.lock("detach_partition_concurrently_partition", part)
        else:
            self.lock("detach_partition", relation)
            self.lock("partition", part)

    def add_column(self, relation: str, col: ast.ColumnDef, existing: bool) -> None:
        mark = len(self.forms)
        kind = _column_type(col.typeName)
        if kind is not None and col.colname:
            self.catalog.columns[(relation, col.colname)] = kind
        self._owned_sequence(relation, col)
        constraints = [c for c in col.constraints or () if isinstance(c, ast.Constraint)]
        default = next((c for c in constraints if c.contype == CT.CONSTR_DEFAULT), None)
        stored = any(
            c.contype == CT.CONSTR_GENERATED and c.generated_kind == "s" for c in constraints
        )
        identity = any(c.contype == CT.CONSTR_IDENTITY for c in constraints)
        type_name = (_strings(col.typeName.names) if col.typeName else [""])[-1].lower()
        serial = type_name in {"serial", "bigserial", "smallserial", "serial4", "serial8"}
        on_target = self.live.functions if self.live is not None else None
        judged = (
            functions.judge(default.raw_expr, self.catalog.functions, on_target)
            if default is not None
            else functions.Judgement(False)
        )
        volatile = judged.volatile or identity or serial
        if stored:
            self.lock("add_column_stored", relation)
        elif volatile:
            self.lock("add_column_volatile", relation)
        else:
            self.lock("add_column", relation)
        for con in constraints:
            if con.contype == CT.CONSTR_FOREIGN:
                target = self._foreign_key(relation, con, col.colname)
                if target != relation:
                    self.lock("add_foreign_key_referenced", target)
        name = f"{relation}.{col.colname}"
        forms = tuple(self.forms[mark:])
        self.check(
            Site(
                "add_column",
                col,
                relation,
                existing=existing,
                name=name,
                forms=forms,
                unknown=judged.unknown,
            )
        )
        for con in constraints:
            self.check(
                Site("column_constraint", con, relation, existing=existing, name=name, forms=forms)
            )

    def add_constraint(self, relation: str, con: ast.Constraint, existing: bool) -> None:
        mark = len(self.forms)
        self._add_constraint(relation, con, existing)
        self.check(
            Site(
                "add_constraint",
                con,
                relation,
                existing=existing,
                name=con.conname or "(unnamed)",
                forms=tuple(self.forms[mark:]),
            )
        )

    def _add_constraint(self, relation: str, con: ast.Constraint, existing: bool) -> None:
        contype = con.contype
        not_valid = bool(con.skip_validation)
        if not_valid and existing and con.conname:
            self.added_not_valid.add((relation, con.conname))
        if contype == CT.CONSTR_CHECK:
            self.lock("add_check_not_valid" if not_valid else "add_check", relation)
            column = _not_null_column(con.raw_expr)
            if column is not None:
                self.catalog.not_null_checks[(relation, column)] = not not_valid
                if con.conname:
                    self.catalog.check_columns[(relation, con.conname)] = column
        elif contype == CT.CONSTR_FOREIGN:
            target = self._foreign_key(relation, con, None)
            self.lock("add_foreign_key_not_valid" if not_valid else "add_foreign_key", relation)
            if target != relation:
                self.lock("add_foreign_key_referenced", target)
        elif contype in (CT.CONSTR_UNIQUE, CT.CONSTR_PRIMARY, CT.CONSTR_EXCLUSION):
            if contype == CT.CONSTR_PRIMARY and con.keys:
                self.catalog.primary_keys[relation] = tuple(_strings(con.keys))
            using_index = bool(con.indexname)
            self._constraint_index(relation, con, None)
            self.lock("add_unique_using_index" if using_index else "add_unique", relation)
        else:
            self.lock("alter_table_other", relation)

    def on_RenameStmt(self, node: ast.RenameStmt) -> None:
        kind = node.renameType
        if kind == OT.OBJECT_COLUMN:
            relation = _name(node.relation, self.catalog)
            self.lock("rename_column", relation)
            self.check(Site("rename", node, relation, existing=not self.new(relation)))
        elif kind in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW):
            relation = _name(node.relation, self.catalog)
            self.lock("rename_table", relation)
            renamed = f"{relation.split('.', 1)[0]}.{node.newname}"
            self.check(Site("rename", node, relation, existing=not self.new(relation)))
            if self.new(relation):
                self.created.add(renamed)
            self.catalog.rename(relation, renamed)
        elif kind == OT.OBJECT_TABCONSTRAINT:
            relation = _name(node.relation, self.catalog)
            self.lock("rename_constraint", relation)
            key = self.catalog.foreign_key(relation, node.subname or "")
            if key is not None and node.newname:
                self.catalog.foreign_keys.remove(key)
                self.catalog.foreign_keys.append(replace(key, name=node.newname))
        elif kind == OT.OBJECT_INDEX:
            index = _name(node.relation, self.catalog)
            table = self._index_table(index)
            self.lock("alter_index", table)
            if index in self.catalog.indexes and node.newname:
                self.catalog.indexes.pop(index)
                self.catalog.indexes[f"{index.split('.', 1)[0]}.{node.newname}"] = table
        elif kind == OT.OBJECT_TRIGGER:
            self.lock("rename_trigger", _name(node.relation, self.catalog))
        elif kind == OT.OBJECT_POLICY:
            self.lock("create_policy", _name(node.relation, self.catalog))
        elif kind == OT.OBJECT_SEQUENCE:
            self.lock("rename_table", _name(node.relation, self.catalog))

    def on_UpdateStmt(self, node: ast.UpdateStmt) -> None:
        self.lock("update", _name(node.relation, self.catalog))

    def on_DeleteStmt(self, node: ast.DeleteStmt) -> None:
        self.lock("delete", _name(node.relation, self.catalog))

    def on_InsertStmt(self, node: ast.InsertStmt) -> None:
        self.lock("insert", _name(node.relation, self.catalog))

    def on_TruncateStmt(self, node: ast.TruncateStmt) -> None:
        named = [
            _name(rv, self.catalog) for rv in node.relations or () if isinstance(rv, ast.RangeVar)
        ]
        cascade = (
            self.catalog.referencing(named)
            if node.behavior == enums.DropBehavior.DROP_CASCADE
            else []
        )
        for relation in named + cascade:
            self.lock("truncate_cascade" if relation in cascade else "truncate", relation)
            if node.restart_seqs:
                self._lock_others("owned_sequence", self.catalog.sequences_of(relation))

    def on_VacuumStmt(self, node: ast.VacuumStmt) -> None:
        options = {d.defname for d in node.options or () if isinstance(d, ast.DefElem)}
        full = "full" in options and node.is_vacuumcmd
        for vrel in node.rels or ():
            if isinstance(vrel, ast.VacuumRelation) and vrel.relation is not None:
                relation = _name(vrel.relation, self.catalog)
                form = "vacuum_full" if full else ("vacuum" if node.is_vacuumcmd else "analyze")
                self.lock(form, relation)
                self.check(
                    Site(
                        "vacuum_relation",
                        node,
                        relation,
                        existing=not self.new(relation),
                        forms=(form,),
                    )
                )

    def on_ClusterStmt(self, node: ast.ClusterStmt) -> None:
        if node.relation is not None:
            self.lock("cluster", _name(node.relation, self.catalog))

    def on_LockStmt(self, node: ast.LockStmt) -> None:
        mode = locks.MODES[(node.mode or 8) - 1]
        for rv in node.relations or ():
            if isinstance(rv, ast.RangeVar):
                self.lock("lock_table", _name(rv, self.catalog), mode)

    def on_ReindexStmt(self, node: ast.ReindexStmt) -> None:
        concurrent = self.reindex_concurrently(node)
        kind = node.kind
        if kind == enums.ReindexObjectType.REINDEX_OBJECT_SCHEMA:
            # Every table of the schema, each in a transaction of its own.
            tables = self._tables_in(node.name or "")
        elif kind == enums.ReindexObjectType.REINDEX_OBJECT_DATABASE:
            tables = self._tables_in(None)
        elif kind == enums.ReindexObjectType.REINDEX_OBJECT_SYSTEM:
            tables = []  # the system catalogs only
        else:
            tables = [self.reindex_relation(node)]
        for table in tables:
            self.lock("reindex_concurrently" if concurrent else "reindex", table)
            if not concurrent:
                continue
            if kind == enums.ReindexObjectType.REINDEX_OBJECT_INDEX:
                olds = [_name(node.relation, self.catalog)] if node.relation else []
            else:
                olds = self._indexes_of(table)
            for old in olds:
                self.lock("reindex_concurrently_end", old)

    def on_CreateTrigStmt(self, node: ast.CreateTrigStmt) -> None:
        table = _name(node.relation, self.catalog)
        self.lock("create_trigger", table)
        if node.trigname and node.funcname:
            function = _qualified(_strings(node.funcname))
            self.catalog.triggers[(table, node.trigname)] = function

    def on_CreatePolicyStmt(self, node: ast.CreatePolicyStmt) -> None:
        self.lock("create_policy", _name(node.table, self.catalog))

    def on_CommentStmt(self, node: ast.CommentStmt) -> None:
        if node.objtype in (OT.OBJECT_TABLE, OT.OBJECT_COLUMN) and isinstance(node.object, tuple):
            parts = _strings(node.object)
            if node.objtype == OT.OBJECT_COLUMN:
                parts = parts[:-1]
            self.lock("comment", _qualified(parts))
        elif node.objtype in (
            OT.OBJECT_VIEW,
            OT.OBJECT_MATVIEW,
            OT.OBJECT_SEQUENCE,
            OT.OBJECT_FOREIGN_TABLE,
            OT.OBJECT_INDEX,
        ) and isinstance(node.object, tuple):
            relation = _qualified(_strings(node.object))
            if node.objtype == OT.OBJECT_INDEX:
                relation = self._index_table(relation)
            self.lock("comment_relation", relation)

    def on_GrantStmt(self, node: ast.GrantStmt) -> None:
        self._grant(node)

    def on_AlterDefaultPrivilegesStmt(self, node: ast.AlterDefaultPrivilegesStmt) -> None:
        if node.action is not None:
            self._grant(node.action, default=True)
            # FOR ROLE names another creator; IN SCHEMA cannot take away a global default.
            action = node.action
            privileges = [
                p.priv_name for p in action.privileges or () if isinstance(p, ast.AccessPriv)
            ]
            if (
                not node.options
                and action.objtype in (OT.OBJECT_FUNCTION, OT.OBJECT_ROUTINE)
                and (not privileges or "execute" in privileges)
                and any(
                    isinstance(r, ast.RoleSpec) and r.roletype == enums.RoleSpecType.ROLESPEC_PUBLIC
                    for r in action.grantees or ()
                )
            ):
                self.catalog.public_executes_new_functions = bool(action.is_grant)

    def _grant(self, node: ast.GrantStmt, default: bool = False) -> None:
        if default:
            return
        if node.targtype == enums.GrantTargetType.ACL_TARGET_OBJECT and node.objtype in (
            OT.OBJECT_FUNCTION,
            OT.OBJECT_PROCEDURE,
            OT.OBJECT_ROUTINE,
        ):
            self._routine_privileges(node)
            return
        if node.targtype == enums.GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
            self.decided_schemas.update(_strings(node.objects))
        elif node.objtype == OT.OBJECT_TABLE:
            for rv in node.objects or ():
                if isinstance(rv, ast.RangeVar):
                    self.decided.add(_name(rv, self.catalog))

    def _routine_privileges(self, node: ast.GrantStmt) -> None:
        privileges = [p.priv_name for p in node.privileges or () if isinstance(p, ast.AccessPriv)]
        if privileges and "execute" not in privileges:
            return
        grantees = [
            "PUBLIC"
            if r.roletype == enums.RoleSpecType.ROLESPEC_PUBLIC
            else r.rolename or r.roletype.name
            for r in node.grantees or ()
            if isinstance(r, ast.RoleSpec) and r.roletype is not None
        ]
        for obj in node.objects or ():
            if isinstance(obj, ast.ObjectWithArgs):
                name = _qualified(_strings(obj.objname))
                for grantee in grantees:
                    self.routine_privileges.append((name, bool(node.is_grant), grantee))

    def on_CreateFunctionStmt(self, node: ast.CreateFunctionStmt) -> None:
        # The catalog's facts for what follows: its declared volatility (a default calling it)
        # and the DDL its body hides (a migration calling it).
        name = _qualified(_strings(node.funcname))
        if name not in self.catalog.functions:
            self.created_routines.add(name)
        functions.declare(self.catalog.functions, node)
        self.catalog.opaque_functions.pop(name, None)
        body = function_body(node)
        if body is not None and function_language(node) == "plpgsql":
            parsed = plpgsql.parse(body)
            hidden = parsed.ddl() if parsed is not None else ["a body pglast cannot parse"]
            if hidden:
                self.catalog.opaque_functions[name] = tuple(hidden)

    def on_AlterFunctionStmt(self, node: ast.AlterFunctionStmt) -> None:
        functions.alter(self.catalog.functions, node)

    def on_DoStmt(self, node: ast.DoStmt) -> None:
        for arg in node.args or ():
            if (
                isinstance(arg, ast.DefElem)
                and arg.defname == "as"
                and isinstance(arg.arg, ast.String)
            ):
                body = arg.arg.sval or ""
                # The body is PL/pgSQL, run by the server: what it does is not known here, so
                # every relation it names is planned at the strongest lock.
                self._lock_others("do_block", self._named_in(body))

    def _named_in(self, text: str) -> list[str]:
        """The known relations ``text`` names schema-qualified, in order of appearance."""
        out: list[str] = []
        for match in _QUALIFIED_NAME.finditer(text):
            name = f"{match[1].lower()}.{match[2].lower()}"
            if name in self.catalog.relations and name not in out:
                out.append(name)
        return out


def function_language(node: ast.CreateFunctionStmt) -> str:
    for option in node.options or ():
        if (
            isinstance(option, ast.DefElem)
            and option.defname == "language"
            and isinstance(option.arg, ast.String)
        ):
            return (option.arg.sval or "").lower()
    return "sql"


def function_body(node: ast.CreateFunctionStmt) -> str | None:
    """The body of ``CREATE FUNCTION ... AS $$...$$`` (None for a C function's link symbol or
    an SQL-standard body, which pglast parsed already: ``node.sql_body``)."""
    for option in node.options or ():
        if isinstance(option, ast.DefElem) and option.defname == "as":
            parts = _strings(option.arg if isinstance(option.arg, tuple) else (option.arg,))
            return parts[0] if len(parts) == 1 else None
    return None


def _not_null_column(expr: object) -> str | None:
    if (
        isinstance(expr, ast.NullTest)
        and expr.nulltesttype == enums.NullTestType.IS_NOT_NULL
        and isinstance(expr.arg, ast.ColumnRef)
    ):
        names = _strings(expr.arg.fields)
        return names[-1] if names else None
    return None

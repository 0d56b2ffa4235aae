"""The lock-hold budget: the predicted hold time of each pending statement that rewrites or
scans a table under a lock that blocks the Gordon services (SHARE or stronger), and apply's
refusal of one predicted to hold it longer than its budget (README "Lock-hold budget").

Which tables a statement rewrites or scans, and in which mode, comes from each migration's
resolved plan (``resolve``: pinned, rehearsed on the fly, or lint's static guess), and every
line says which. Sizes are the target's, read live
without waiting on any relation lock (``lint.live.read_live``); the throughput is the one the
tool measured (``rehearse.cost``). Read-only.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gordon_migrate.apply.resolve import OnTheFly, Provenance, ResolvedPlan, resolve
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.db import HISTORY_TABLE, Conn, connection, server_version
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.durations import format_ms
from gordon_migrate.core.errors import GordonError, LintError
from gordon_migrate.rehearse import cost, pinned
from gordon_migrate.rehearse.model import strength


@dataclass(frozen=True)
class Hold:
    """One statement's blocking lock on one table across a rewrite or a full scan."""

    migration: Migration
    line: int
    relation: str
    mode: str
    prediction: cost.Prediction
    budget_ms: int
    provenance: Provenance
    """Where the plan that names this table and mode comes from (pinned, rehearsed, guessed)."""
    waiver: str | None = None
    """The reason of a ``-- gordon:allow long-lock`` on the statement."""

    @property
    def refused(self) -> bool:
        return self.waiver is None and self.prediction.over(self.budget_ms)

    @property
    def where(self) -> str:
        return f"{self.migration.filename}:{self.line}"

    @property
    def measured(self) -> bool:
        return self.provenance.measured

    @property
    def plan_source(self) -> str:
        return self.provenance.words

    def describe(self, *, where: bool = True) -> str:
        """``0040_x.sql:3 rewrites public.t (48 MB) under ACCESS EXCLUSIVE: predicted ...``
        (without ``0040_x.sql:3`` when not ``where``)."""
        verb = {"rewrite": "rewrites", "scan": "scans", "build": "builds an index on"}[
            self.prediction.work
        ]
        verdict = (
            f"waived: {self.waiver}"
            if self.waiver is not None
            else ("over" if self.prediction.over(self.budget_ms) else "within")
            + f" the budget {format_ms(self.budget_ms)}"
        )
        return (
            (f"{self.where} " if where else "") + f"{verb} {self.relation} "
            f"({cost.format_bytes(self.prediction.size_bytes)}) under {self.mode}: "
            f"predicted hold {self.prediction.shown}, {verdict} ({self.plan_source})"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.migration.filename,
            "line": self.line,
            "relation": self.relation,
            "mode": self.mode,
            "work": self.prediction.work,
            "bytes": self.prediction.size_bytes,
            "predicted_s": {
                "low": round(self.prediction.low_s, 3),
                "central": round(self.prediction.central_s, 3),
                "high": round(self.prediction.high_s, 3),
            },
            "budget_ms": self.budget_ms,
            "measured": self.measured,
            "provenance": self.provenance.as_dict(),
            "waiver": self.waiver,
            "refused": self.refused,
        }


@dataclass(frozen=True)
class _Candidate:
    migration: Migration
    line: int
    relation: str
    mode: str
    work: cost.Work
    provenance: Provenance


def predict(
    conn: Conn,
    pending: Sequence[Migration],
    bundle: Sequence[Migration],
    *,
    server_version: str | None,
    budget_ms: int = cost.DEFAULT_BUDGET_MS,
    plans: Sequence[ResolvedPlan] | None = None,
) -> list[Hold]:
    """Every blocking lock held across a rewrite or a scan of an existing table by a statement
    of ``pending``, with its predicted hold; empty when no throughput was measured. Reads
    sizes only when there is such a statement (a fresh or ordinary deploy pays nothing).
    ``plans``: ``pending``'s resolved plans (``resolve``; without, pinned else guessed)."""
    throughput = cost.load()
    if throughput is None or not pending:
        return []
    if plans is None:
        plans = resolve(pending, bundle, server_major=pinned.major_of(server_version))
    candidates = _candidates(plans)
    if not candidates:
        return []
    existing = _existing(conn, {c.relation for c in candidates})
    candidates = [c for c in candidates if c.relation in existing]
    if not candidates:
        return []  # a fresh database: what they rewrite is created by the run itself
    from gordon_migrate.lint.live import read_live

    sizes = read_live(conn).sizes
    holds: list[Hold] = []
    for c in candidates:
        size = sizes.get(c.relation)
        if size is None:
            continue  # created by an earlier pending migration: nothing in it yet
        bytes_ = cost.sized(c.work, size.bytes, size.indexes, size.toast)
        holds.append(
            Hold(
                migration=c.migration,
                line=c.line,
                relation=c.relation,
                mode=c.mode,
                prediction=cost.predict(c.work, bytes_, throughput),
                budget_ms=_budget(c.migration, budget_ms),
                provenance=c.provenance,
            )
        )
    return _waived(holds)


def predict_unapplied(
    dsn: Dsn,
    targets: Sequence[Migration],
    bundle: Sequence[Migration],
    *,
    purpose: str,
    rehearse: OnTheFly | None = None,
) -> tuple[tuple[ResolvedPlan, ...], list[Hold]]:
    """The resolved plans of those of ``targets`` the database at ``dsn`` has not applied (a
    file outside ``bundle`` never is; rehearsed when ``rehearse`` asks and the pinned plan
    lacks them), and ``predict`` of them with the default budget and each file's header, on a
    read-only connection of its own (``lint --database-url``)."""
    with connection(dsn, purpose=purpose, doing="predicting lock holds", read_only=True) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (HISTORY_TABLE,)).fetchone()
        applied: set[int] = set()
        if row is not None and row[0]:
            query = f"SELECT version FROM {HISTORY_TABLE} WHERE success"
            applied = {int(v) for (v,) in conn.execute(query).fetchall()}
        bundled = {m.path.resolve() for m in bundle}
        pending = [
            m for m in targets if m.path.resolve() not in bundled or m.version not in applied
        ]
        version = server_version(conn)
        plans = resolve(pending, bundle, server_major=pinned.major_of(version), rehearse=rehearse)
        return plans, predict(conn, pending, bundle, server_version=version, plans=plans)


def _budget(migration: Migration, default_ms: int) -> int:
    """The migration header's budget, else ``default_ms``. A header that cannot be read is
    apply's refusal (``settings_for``, checked before this gate), not the plan's."""
    try:
        return migration.directives.get(cost.BUDGET_DIRECTIVE, default_ms)
    except GordonError:
        return default_ms


def _existing(conn: Conn, relations: set[str]) -> set[str]:
    """Those of ``relations`` that exist (a catalog read: no relation lock)."""
    names = sorted(relations)
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname || '.' || c.relname = ANY(%s)",
        (names,),
    ).fetchall()
    return {str(name) for (name,) in rows}


def _candidates(plans: Sequence[ResolvedPlan]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for plan in plans:
        for s in plan.statements:
            modes: dict[str, str] = {}
            for lock in s.locks:
                if lock.new or lock.dead or lock.kind == "object":
                    continue
                if strength(lock.mode) > strength(modes.get(lock.object, "")):
                    modes[lock.object] = lock.mode
            works: list[tuple[str, cost.Work]] = [(r, "rewrite") for r in s.rewritten]
            # A scan by a statement that made an index is that index's build (sort and write).
            read: cost.Work = "build" if any(c.startswith("index ") for c in s.created) else "scan"
            works += [(r, read) for r in s.scanned if r not in s.rewritten]
            for relation, work in works:
                mode = modes.get(relation)
                if mode is not None and cost.blocking(mode):
                    out.append(
                        _Candidate(plan.migration, s.line, relation, mode, work, plan.provenance)
                    )
    return out


def _waived(holds: list[Hold]) -> list[Hold]:
    """``holds`` with the reason of each ``-- gordon:allow long-lock`` on its statement (on the
    statement's lines, or above it)."""
    out: list[Hold] = []
    lines: dict[str, dict[int, str]] = {}
    for hold in holds:
        m = hold.migration
        if not any(w.rule == cost.LONG_LOCK for w in m.waivers):
            out.append(hold)
            continue
        if m.filename not in lines:
            lines[m.filename] = _waiver_lines(m)
        reason = lines[m.filename].get(hold.line)
        out.append(hold if reason is None else _with_waiver(hold, reason))
    return out


def _with_waiver(hold: Hold, reason: str) -> Hold:
    return replace(hold, waiver=reason)


def _waiver_lines(m: Migration) -> dict[int, str]:
    """Statement start line -> the reason of the long-lock waiver on it, as lint matches a
    waiver to its statement (``lint.analyze.FileLinter.apply_waivers``)."""
    from gordon_migrate.sql.split import split

    text = m.parser_text
    spans = []
    for statement in split(text):
        first = text.count("\n", 0, statement.start) + 1
        spans.append((statement.start, first, first + statement.text.count("\n")))
    out: dict[int, str] = {}
    for waiver in m.waivers:
        if waiver.rule != cost.LONG_LOCK or not waiver.reason:
            continue
        target = next((s for s in spans if s[1] <= waiver.line <= s[2]), None) or next(
            (s for s in spans if s[0] > waiver.start), None
        )
        if target is not None:
            out[target[1]] = waiver.reason
    return out


def refuse_long_holds(holds: Sequence[Hold]) -> None:
    """Apply's gate: raise ``LintError`` for the first hold over its budget, unwaived."""
    over = [h for h in holds if h.refused]
    if not over:
        return
    first = over[0]
    more = f" (and {len(over) - 1} more)" if len(over) > 1 else ""
    path = shlex.quote(str(first.migration.path.resolve()))
    raise LintError(
        f"migration {first.where}: long-lock: {first.describe(where=False)}{more}. "
        "Nothing was run. "
        "It would block the services for that long: batch it, split a constraint into NOT "
        "VALID + VALIDATE, build an index CONCURRENTLY; or raise the budget "
        f"(`-- gordon:{cost.BUDGET_DIRECTIVE} 30s` in the header, `apply --lock-hold-budget`) "
        f"or waive it on the statement with `-- gordon:allow {cost.LONG_LOCK} <reason>` "
        f"({path}; README, Lock-hold budget)"
    )

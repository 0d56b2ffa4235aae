"""The truth test (issue 21, item 5): every statement of the lock corpus rehearsed on the
suite's server (``gordon_migrate.rehearse``: ``pg_locks`` around the statement), and lint's
static lock plan of the same one-statement migration checked against it.

What must hold: every relation the statement really locks in SHARE UPDATE EXCLUSIVE or
stronger (blocking maintenance, writes or reads) is in the plan, in at least that mode. An
index's lock counts for its table (``rehearse`` folds it there: a reader of the table needs
its indexes). A relation the statement itself creates is left out: nobody else can see it.
Where the plan is stronger than the server, it is recorded, not failed: a false alarm costs a
review, a missing lock costs an outage. The summary is printed at the end of the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gordon_migrate import lint
from gordon_migrate.core import bundle, dsn
from gordon_migrate.core.bundle import Migration
from gordon_migrate.lint import locks
from gordon_migrate.lint.model import StatementPlan
from gordon_migrate.rehearse.model import StatementFacts, strength
from gordon_migrate.rehearse.run import rehearse
from gordon_migrate.sql.statement import inspect
from gordon_migrate.testing import GordonDatabase, TestServer, unique_name
from tests.support.dead_index import held_at_last_step
from tests.support.lock_corpus import Entry, entries

CORPUS = entries()
BLOCKING = strength("SHARE UPDATE EXCLUSIVE")
#: The plan's steps on an old index at the end of a concurrent drop or rebuild (lint/locks.py).
DEAD_INDEX_FORMS = frozenset(f.title for f in locks.FORMS if f.dead_index)


@dataclass(frozen=True)
class Measured:
    entry: Entry
    facts: StatementFacts
    plan: StatementPlan
    server: str


@dataclass
class Summary:
    stronger: list[str]
    known: list[str]
    checked: int = 0
    server: str = "?"


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 60


@pytest.fixture(scope="module")
def target(gordon_server: TestServer, gordon_template: str) -> Iterator[dsn.Dsn]:
    """A v7 database, only read: its history says every bundled migration is applied, so the
    rehearsal replays them on the scratch and measures the corpus migration alone."""
    name = unique_name("lock_truth")
    gordon_server.create_database(name, gordon_template)
    try:
        yield dsn.parse(gordon_server.dsn_for(name))
    finally:
        gordon_server.drop_database(name)


@pytest.fixture(scope="module")
def summary(request: pytest.FixtureRequest) -> Iterator[Summary]:
    found = Summary(stronger=[], known=[])
    yield found
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not found.checked:
        return
    lines = [
        f"lock truth on PostgreSQL {found.server}: {found.checked} statements checked; the "
        f"static plan is stronger than the server on {len(found.stronger)}:",
        *(f"  {line}" for line in found.stronger),
        f"and shows {len(found.known)} lock(s) the corpus expects on this major only:",
        *(f"  {line}" for line in found.known),
    ]
    # Printed past the capture, as pytest prints its own summary: read on every run.
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


def measure(entry: Entry, server: TestServer, target: dsn.Dsn, where: Path) -> Measured:
    files = {}
    if entry.setup:
        files["0900_setup.sql"] = "\n".join(entry.setup) + "\n"
    header = "-- no-transaction\n" if entry.no_transaction else ""
    files["0901_probe.sql"] = header + entry.sql + "\n"
    for name, text in files.items():
        (where / name).write_text(text, encoding="utf-8")
    extra = bundle.load(where)
    probe = extra[-1]
    migrations: list[Migration] = [*bundle.load(), *extra]
    rehearsal = rehearse(migrations, target=target, scratch_server=dsn.parse(server.admin_dsn))
    (facts,) = rehearsal.migrations[-1].statements
    plan = lint.lock_plan([probe], migrations, None)
    (statement,) = plan.migrations[0].statements
    return Measured(entry, facts, statement, rehearsal.server_version)


def planned_modes(plan: StatementPlan, *, dead_index: bool = False) -> dict[str, str]:
    """The plan's strongest mode per relation: of its steps on an old index at the end of a
    concurrent drop or rebuild (``dead_index``), or of the others."""
    out: dict[str, str] = {}
    for step in plan.steps:
        if (step.form in DEAD_INDEX_FORMS) != dead_index:
            continue
        mode = locks.label(step.mode)
        if step.relation not in out or strength(mode) > strength(out[step.relation]):
            out[step.relation] = mode
    return out


@pytest.mark.parametrize("entry", CORPUS, ids=lambda e: e.name)
def test_the_static_plan_holds_every_blocking_lock_the_server_takes(
    entry: Entry,
    gordon_server: TestServer,
    target: dsn.Dsn,
    summary: Summary,
    tmp_path: Path,
) -> None:
    got = measure(entry, gordon_server, target, tmp_path)
    planned = planned_modes(got.plan)
    old_names = dict(entry.renamed)
    real = {
        old_names.get(lock.object, lock.object): lock.mode
        for lock in got.facts.locks
        if lock.kind not in ("object", "index") and not lock.new
    }
    # ACCESS EXCLUSIVE on an old index the server had marked dead: the last step of DROP
    # INDEX CONCURRENTLY / REINDEX CONCURRENTLY, seen when the sampler catches it (whether it
    # does is chance: test_the_plan_names_the_last_step_of_a_concurrent_index_drop holds the
    # statement there every time). Judged on the index, where the plan names it.
    dead = {
        lock.object
        for lock in got.facts.locks
        if lock.kind == "index" and lock.dead and lock.mode == "ACCESS EXCLUSIVE"
    }
    on_indexes = planned_modes(got.plan, dead_index=True)
    assert all(on_indexes.get(index) == "ACCESS EXCLUSIVE" for index in dead), (
        f"{entry.name}: the server locked {sorted(dead)} in ACCESS EXCLUSIVE at its last "
        f"step; the plan names {on_indexes}"
    )
    major = int(got.server.split(".")[0])
    # What the corpus says this major's server shows beyond the plan, and why.
    accepted = {
        relation
        for m, relation, mode in entry.per_major
        if m == major
        and relation in real
        and strength(planned.get(relation, "")) < strength(real[relation]) <= strength(mode)
    }
    summary.known += [f"{entry.name}: {r} {real[r]} on {major}" for r in sorted(accepted)]
    missing = {
        relation: mode
        for relation, mode in real.items()
        if strength(mode) >= BLOCKING
        and strength(planned.get(relation, "")) < strength(mode)
        and relation not in accepted
    }
    summary.checked += 1
    summary.server = got.server
    stronger = [
        f"{relation} {mode} (server: {real.get(relation, 'none')})"
        for relation, mode in planned.items()
        if strength(mode) > strength(real.get(relation, ""))
    ]
    if stronger:
        summary.stronger.append(f"{entry.name}: {', '.join(stronger)}")
    assert not missing, (
        f"{entry.name}: the static plan misses or under-states {missing}; "
        f"planned {planned}, measured {real}"
    )
    if inspect(entry.sql).share_update_exclusive_only:
        # The engine runs it without lock_timeout: it must block no reader or writer.
        assert all(strength(mode) <= BLOCKING for r, mode in real.items() if r not in accepted), (
            entry.name,
            real,
        )


def _concurrent_index_drop(entry: Entry) -> bool:
    """A concurrent drop or rebuild of one table's indexes (held at its last step below; a
    whole schema's is judged by the sampler only)."""
    text = " ".join(entry.sql.upper().split())
    return text.startswith("DROP INDEX CONCURRENTLY") or (
        text.startswith(("REINDEX TABLE", "REINDEX INDEX")) and "CONCURRENTLY" in text
    )


@pytest.mark.parametrize(
    "entry", [e for e in CORPUS if _concurrent_index_drop(e)], ids=lambda e: e.name
)
def test_the_plan_names_the_last_step_of_a_concurrent_index_drop(
    entry: Entry, gordon_db: GordonDatabase, tmp_path: Path
) -> None:
    """Held at its last step (tests/support/dead_index), the statement holds ACCESS EXCLUSIVE
    on each old index, every time: the plan must name each of them in that mode, on the
    index, and no other old index."""
    with gordon_db.connect() as conn:
        for setup in entry.setup:
            conn.execute(setup.encode())
    (tmp_path / "0901_probe.sql").write_text(f"-- no-transaction\n{entry.sql}\n", encoding="utf-8")
    probe = bundle.load(tmp_path)[-1]
    plan = lint.lock_plan([probe], [*bundle.load(), probe], None)
    (statement,) = plan.migrations[0].statements
    (table,) = planned_modes(statement)
    with held_at_last_step(gordon_db.dsn, entry.sql, table) as held:
        pass
    locked = {index for index, mode in held.items() if mode == "AccessExclusiveLock"}
    assert locked, f"{entry.name}: held at its last step, it locks no old index: {held}"
    on_indexes = planned_modes(statement, dead_index=True)
    assert on_indexes == dict.fromkeys(locked, "ACCESS EXCLUSIVE"), (entry.name, held)

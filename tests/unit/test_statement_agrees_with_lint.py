"""The engine's one-statement classification (``sql/statement.py``) and lint's lock plan agree
on every statement of the lock corpus (``tests/data/lock_corpus.sql``), whose real locks
``tests/test_lock_truth.py`` holds the plan to.

``sql`` is the ground floor and cannot import lint's table, so the two are held together here:
a statement the engine runs without lock_timeout (SHARE UPDATE EXCLUSIVE only) must be one the
plan says blocks no reader or writer; and every statement that cannot run in a transaction
block (what the classification exists for) and takes nothing stronger in the plan must be
classified so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gordon_migrate import lint
from gordon_migrate.core import bundle
from gordon_migrate.lint import locks
from gordon_migrate.sql.statement import inspect
from tests.support.lock_corpus import Entry, entries

LIGHT = locks.MODES.index("ShareUpdateExclusiveLock")
#: The last step of a concurrent index drop or rebuild: ACCESS EXCLUSIVE on an old index no
#: reader or writer of the table opens any more (it waits only for what opens that index).
DEAD_INDEX_FORMS = frozenset(f.title for f in locks.FORMS if f.dead_index)


def strongest_planned(entry: Entry, where: Path) -> int:
    if entry.setup:
        (where / "0900_setup.sql").write_text("\n".join(entry.setup) + "\n", encoding="utf-8")
    header = "-- no-transaction\n" if entry.no_transaction else ""
    (where / "0901_probe.sql").write_text(header + entry.sql + "\n", encoding="utf-8")
    extra = bundle.load(where)
    plan = lint.lock_plan([extra[-1]], [*bundle.load(), *extra], None)
    (statement,) = plan.migrations[0].statements
    return max(
        (
            locks.MODES.index(step.mode)
            for step in statement.steps
            if step.form not in DEAD_INDEX_FORMS
        ),
        default=-1,
    )


@pytest.mark.parametrize("entry", entries(), ids=lambda e: e.name)
def test_the_engine_and_the_lock_plan_classify_the_statement_alike(
    entry: Entry, tmp_path: Path
) -> None:
    light = inspect(entry.sql).share_update_exclusive_only
    strongest = strongest_planned(entry, tmp_path)
    if light:
        assert 0 <= strongest <= LIGHT, f"{entry.name}: planned {locks.MODES[strongest]}"
    if entry.no_transaction and 0 <= strongest <= LIGHT:
        assert light, f"{entry.name}: the plan blocks no one, the engine thinks it does"


def test_detach_partition_concurrently_is_not_light() -> None:
    """Its second transaction takes ACCESS EXCLUSIVE on the partition: lock_timeout applies."""
    sql = "ALTER TABLE t DETACH PARTITION t_1 CONCURRENTLY"
    assert not inspect(sql).share_update_exclusive_only
    assert inspect("CREATE INDEX CONCURRENTLY i ON t (x)").share_update_exclusive_only

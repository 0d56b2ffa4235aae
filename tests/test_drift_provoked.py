"""tests/support/drift_provoked.py is what its generator writes from the measurement
(tests/support/gen_drift_provoked.py); the measurement itself runs only when asked
(``GORDON_MEASURE_PROVOKED=1``: every case on a fresh database, once per major)."""

from __future__ import annotations

import os

import pytest

from gordon_migrate.testing import ClonePool, GordonDatabase, TestServer
from tests.support import gen_drift_provoked as gen
from tests.support.drift import execute
from tests.test_drift_completeness import CASES, _column_digests, _statements


def test_the_provoked_map_is_what_its_generator_writes() -> None:
    data = gen.load()
    assert data.majors, f"no measurement in {gen.MEASURED}"
    assert gen.render(data) == gen.OUTPUT.read_text(encoding="utf-8"), (
        "tests/support/drift_provoked.py is stale: run python -m tests.support.gen_drift_provoked"
    )


def test_the_generator_chooses_the_case_that_changes_the_fewest_rows() -> None:
    """On a tie, the first case; a case that left the row unchanged, or did not run, on a
    major where the row exists is never chosen."""
    data = gen.Measurement(
        ("big", "small", "tied", "flaky", "newer"),
        {
            "18": gen.Major(
                ("pg_class.relname", "pg_class.relacl", "pg_proc.proname"),
                {
                    "big": ("pg_class.relname", "pg_class.relacl", "pg_proc.proname"),
                    "small": ("pg_class.relacl",),
                    "tied": ("pg_proc.proname",),
                    "flaky": ("pg_class.relname",),
                    "newer": ("pg_class.relacl",),
                },
            ),
            "16": gen.Major(
                ("pg_class.relname", "pg_class.relacl", "pg_proc.proname"),
                {
                    "big": ("pg_class.relname", "pg_class.relacl", "pg_proc.proname"),
                    "small": ("pg_class.relacl",),
                    "tied": ("pg_proc.proname",),
                    "flaky": (),
                },
            ),
        },
    )
    assert gen.choose(data) == {
        "pg_class.relacl": "small",
        "pg_class.relname": "big",
        "pg_proc.proname": "tied",
    }


@pytest.mark.skipif(
    os.environ.get("GORDON_MEASURE_PROVOKED") != "1",
    reason="measures every case (minutes): GORDON_MEASURE_PROVOKED=1 to refresh the map",
)
def test_measure_every_case(gordon_server: TestServer, gordon_clone_pool: ClonePool) -> None:
    rows = gen.compared()
    changed: dict[str, tuple[str, ...]] = {}
    present: set[str] = set()
    for name, case in CASES.items():
        if gordon_server.version * 10000 < case.since:
            continue
        clone = gordon_clone_pool.take()
        db = GordonDatabase(name=clone, dsn=gordon_server.dsn_for(clone), server=gordon_server)
        try:
            before = _column_digests(db, rows)
            present |= before.keys()
            execute(db, *_statements(db, case))
            after = _column_digests(db, rows)
            changed[name] = tuple(sorted(r for r in before if before[r] != after.get(r)))
        finally:
            execute(db, *_statements(db, case, undo=True))
            gordon_server.drop_database(clone)
    old = gen.load()
    majors = dict(old.majors)
    majors[str(gordon_server.version)] = gen.Major(tuple(sorted(present)), changed)
    gen.save(gen.Measurement(tuple(CASES), majors))

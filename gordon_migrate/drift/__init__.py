"""drift-check and its fixtures: is the live database exactly what the migrations built?

Core API (no click, no I/O beyond the database and the fixture files):

- ``run_drift_check(dsn, fixtures_dir=None) -> DriftReport``: compare a database with the
  pinned fixtures (``drift.check``);
- ``build_fixtures(dsn, migrations=None) -> dict[str, str]``: fixture files (name -> text)
  from a database with every migration applied (``drift.fixtures.build``);
- ``drift.fixtures.generate(migrations, server=None, pg_version=18)``: the same from a
  scratch database (embedded by default);
- ``drift.snapshot.take(conn)``: the canonical snapshot itself; ``drift.metrics``,
  ``drift.render``: textfile metrics, text and JSON output.
"""

from __future__ import annotations

from collections.abc import Sequence

from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.drift.check import run_drift_check
from gordon_migrate.drift.model import (
    CheckResult,
    Difference,
    DriftReport,
    Line,
    Snapshot,
)

__all__ = [
    "CheckResult",
    "Difference",
    "DriftReport",
    "Line",
    "Snapshot",
    "build_fixtures",
    "run_drift_check",
]


def build_fixtures(dsn: Dsn, migrations: Sequence[Migration] | None = None) -> dict[str, str]:
    """Fixture files from the migrated database at ``dsn`` (default migrations: the bundle)."""
    from gordon_migrate.core import bundle
    from gordon_migrate.drift import fixtures

    return fixtures.build(dsn, bundle.load() if migrations is None else migrations)

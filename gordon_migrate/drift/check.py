"""drift-check: compare the live database with the pinned fixtures, read-only."""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import structlog

from gordon_migrate.core import db
from gordon_migrate.core.db import HISTORY_TABLE
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.errors import DriftError
from gordon_migrate.drift import fixtures, queries, snapshot
from gordon_migrate.drift.compare import compare
from gordon_migrate.drift.model import (
    CHECKS,
    PINNED_CHECKS,
    CheckResult,
    Difference,
    DriftReport,
    Line,
    Snapshot,
    sorted_lines,
)

log = structlog.get_logger("gordon_migrate.drift")

UNDETERMINED = (
    "the channel cannot be determined statically, so it cannot be checked against the "
    "allowlist: only literal channels (pg_notify('chan', ...), NOTIFY chan) and "
    "ipc_notify_trigger arguments can be allowlisted"
)


def run_drift_check(
    dsn: Dsn, fixtures_dir: Path | None = None, *, with_fixes: bool = False
) -> DriftReport:
    """Compare the database at ``dsn`` with the fixtures (default: the bundled ones);
    ``with_fixes``: each difference with the SQL restoring it (``drift.fix``).

    One READ ONLY transaction; works as ``gordon_drift_reader`` (no data privilege needed).
    Differences are in the report, not raised; a ``GordonError`` means the database could
    not be checked at all (no connection, unreadable catalogs, missing fixtures).
    """
    started = time.perf_counter()
    with collector_paused():
        return _run(dsn, fixtures_dir, with_fixes, started)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection within: a snapshot and its report are tens of thousands of
    small tuples and strings in no reference cycle, which the collector would only rescan again
    and again as they pile up (a third of the snapshot's Python time at 5,000 tables). The
    previous state comes back afterwards (in-process callers: the TUI, the tests)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _run(dsn: Dsn, fixtures_dir: Path | None, with_fixes: bool, started: float) -> DriftReport:
    expected = fixtures.load(fixtures_dir)
    actual = read_snapshot(
        dsn, expected.roles, purpose="drift-check", builtin_digests=expected.builtin_digests()
    )
    report = compare_snapshot(expected, actual, with_fixes=with_fixes)
    report = dataclasses.replace(report, duration_s=time.perf_counter() - started)
    if not actual.has_history:
        log.warning("no migration history: never migrated, or not the Gordon database")
    for sentence in report.unchecked:
        log.error(f"cannot check: {sentence}")
    if actual.write_access:
        log.warning(
            "the connected role could write; drift-check only reads: run it as gordon_drift_reader",
            role=actual.user,
            could=", ".join(actual.write_access),
        )
    log.info(
        "drift-check done",
        database=report.database,
        ok=report.ok,
        differences=sum(len(c.differences) for c in report.checks),
        duration_s=round(report.duration_s, 3),
    )
    return report


def read_snapshot(
    dsn: Dsn,
    roles: Collection[str],
    *,
    purpose: str,
    builtin_digests: Mapping[int, str] | None = None,
) -> Snapshot:
    """``snapshot.take`` on a read-only connection of its own; a catalog that cannot be read
    is a ``DriftError``."""
    with db.connection(
        dsn,
        purpose=purpose,
        doing="reading the catalogs",
        read_only=True,
        options=snapshot.SESSION_SETTINGS,
        failed=lambda exc: DriftError(
            f"cannot read the catalogs of {dsn.redacted}: {db.error_text(dsn, exc)}"
        ),
    ) as conn:
        # A big database is read over two connections sharing one snapshot (snapshot.take
        # opens the second only then, and closes it).
        return snapshot.take(
            conn,
            roles=roles,
            sibling=lambda: db.connect(
                dsn, purpose=purpose, read_only=True, options=snapshot.SESSION_SETTINGS
            ),
            builtin_digests=builtin_digests,
        )


def without_unread(expected: Sequence[Line], actual: Sequence[Line]) -> Sequence[Line]:
    """``actual`` with each facet that could not be read (its relation was locked) taken as
    expected: it is neither drift nor proof of none, and the report warns about it.
    ``actual`` itself when everything was read."""
    # One search in C (the marker holds no newline, so it cannot straddle two values).
    if queries.UNREAD not in "\n".join([line.value for line in actual]):
        return actual
    pinned: dict[tuple[str, str], list[Line]] = {}
    for line in expected:
        pinned.setdefault((line.object, line.facet), []).append(line)
    out: list[Line] = []
    for line in actual:
        if queries.UNREAD in line.value:
            out += pinned.get((line.object, line.facet), [])
        else:
            out.append(line)
    return out


def _reowned(expected: Sequence[Line], actual: Sequence[Line]) -> frozenset[str]:
    """Objects present on both sides whose owner differs."""
    want = {line.object: line.value for line in expected if line.facet == "owner"}
    have = {line.object: line.value for line in actual if line.facet == "owner"}
    return frozenset(obj for obj, owner in want.items() if have.get(obj, owner) != owner)


def _without_redundant_fixes(checks: list[CheckResult]) -> list[CheckResult]:
    """No statement for what goes with an unexpected object (its privileges, the tables of a
    publication): once the fix drops it they are gone, and an object left to a person (an
    unexpected table) keeps them until that person decides. Nor for what comes back with a
    missing object that only its migration can restore: a GRANT on a table that is not there
    would fail the whole script."""
    from gordon_migrate.drift import fix

    gone = {
        found
        for d in checks[0].differences  # the schema check
        if d.kind == "unexpected"
        and (d.fix is None or d.fix.startswith("DROP "))
        and (found := fix.identity(d.object)) is not None
    }
    back = {
        found
        for d in checks[0].differences
        if d.kind == "missing" and d.fix is None and (found := fix.identity(d.object)) is not None
    }
    if not gone and not back:
        return checks
    notes = (
        (gone, "goes with the unexpected object above"),
        (back, "comes back with the missing object above, from its migration"),
    )

    def without(d: Difference) -> Difference:
        for objects, note in notes:
            if d.fix is not None and fix.goes_with(d.object, objects):
                return d._replace(fix=None, fix_note=note)
        return d

    return [
        dataclasses.replace(check, differences=tuple(map(without, check.differences)))
        for check in checks
    ]


def _pinned_builtins(
    expected: fixtures.Fixtures, actual: Snapshot, major: int
) -> tuple[tuple[Line, ...], list[str]]:
    """(the built-ins expected on this server, what could not be checked): the privileges
    initdb gave the objects that differ now, and this major's pinned fixture."""
    # The function-by-function digests are compared only when the snapshot read them (its
    # digest of them all differs from the pinned one).
    functions = any(map(_is_function_digest, actual.sections["builtins"]))
    pinned = expected.builtins(major, functions=functions)
    if pinned is None:
        known = ", ".join(str(m) for m in sorted(expected.builtin_files)) or "none"
        return actual.builtins_initdb, [
            f"PostgreSQL {major}'s own functions and information_schema privileges: no "
            f"{fixtures.builtins_file(major)} in {expected.directory} (pinned majors: {known}), "
            "so they were not checked; pin them with `gordon-migrate fixtures update "
            f"--database-url` on a scratch PostgreSQL {major} server"
        ]
    return sorted_lines([*actual.builtins_initdb, *pinned]), []


def _is_function_digest(line: Line) -> bool:
    """One built-in function's digest (not the digest of them all)."""
    return line.facet == "digest" and line.object != snapshot.ALL_BUILTIN_FUNCTIONS


def _comparable_builtins(actual: Sequence[Line], unchecked: Sequence[str]) -> Sequence[Line]:
    """The built-ins as they are, as far as they can be compared: without the digests nor
    information_schema's privileges when nothing is pinned for this major."""
    if not unchecked:
        return actual
    return tuple(
        line
        for line in actual
        if line.facet != "digest"
        and not (line.facet == "privileges" and " information_schema" in line.object)
    )


def compare_snapshot(
    expected: fixtures.Fixtures,
    actual: Snapshot,
    *,
    with_fixes: bool = True,
) -> DriftReport:
    """The report of ``actual`` against ``expected`` (no I/O but reading this major's pinned
    built-ins, ``Fixtures.builtins``)."""
    checks = []
    major, _, minor = actual.server_version.partition(".")
    pinned, unchecked = _pinned_builtins(expected, actual, int(major))
    sections = dict(expected.sections) | {"builtins": pinned}
    fixes = None
    if with_fixes:  # the fix script's statement forms: imported only when asked for
        from gordon_migrate.drift import fix

        fixes = fix.context(
            database=actual.database,
            migrator=actual.migrator,
            server_version=int(major) * 10000 + (int(minor) if minor.isdigit() else 0),
            expected=[line for name in PINNED_CHECKS for line in expected.sections[name]],
            reowned=_reowned(expected.sections["schema"], actual.sections["schema"]),
            bootstrap=actual.bootstrap,
        )
    # What could not be read (a locked relation) counts as pinned, in the checksum too.
    # (Nothing unread without a lock to name: skip looking for the marker in every value.)
    readable = {
        name: without_unread(sections[name], actual.sections[name])
        if actual.unread
        else actual.sections[name]
        for name, _ in CHECKS
    }
    readable["builtins"] = _comparable_builtins(readable["builtins"], unchecked)
    for name, _title in CHECKS:
        differences = compare(sections[name], readable[name], fixes)
        if name == "notify":
            differences += tuple(
                Difference(
                    object=f"NOTIFY in {line.object}",
                    kind="unexpected",
                    expected=None,
                    actual=line.facet,
                    detail=UNDETERMINED,
                )
                for line in actual.undetermined_channels
            )
        checks.append(CheckResult(name=name, differences=differences))
    if with_fixes:
        checks = _without_redundant_fixes(checks)
    schema = readable["schema"]
    # The snapshot's own section is already distinct and sorted: not sorted again.
    presorted = schema is actual.sections["schema"]
    actual_checksum = fixtures.checksum(fixtures.render("schema", schema, presorted=presorted))
    warnings: list[str] = [f"not compared: {sentence}" for sentence in actual.unread]
    if not actual.has_history:
        warnings.append(
            f"database {actual.database} has no migration history ({HISTORY_TABLE}): "
            "it was never migrated, or this is not the Gordon database"
        )
    if actual.write_access:
        shown = ", ".join(actual.write_access[:5])
        more = len(actual.write_access) - 5
        warnings.append(
            f"connected as {actual.user}, which could write ({shown}"
            f"{f' and {more} more' if more > 0 else ''}): drift-check only reads, run it as "
            "gordon_drift_reader"
        )
    unchecked += [
        f"catalog column {column}: drift-check's column map (drift/catalogs.py) does not say "
        "what it means for drift, so it was not checked: this PostgreSQL is newer than this "
        "gordon-migrate; upgrade it"
        for column in actual.unmapped
    ]
    unchecked += [
        f"{obj}: names a role that does not exist or that {actual.user} cannot see, so whose "
        "privileges these are cannot be checked: find the role (pg_shdepend), then grant the "
        "privileges again to the right one or revoke them"
        for obj in actual.unknown_roles
    ]
    return DriftReport(
        unchecked=tuple(unchecked),
        database=actual.database,
        user=actual.user,
        server_version=actual.server_version,
        duration_s=0.0,  # the caller that timed the check fills it in
        checks=tuple(checks),
        expected_checksum=expected.checksum,
        actual_checksum=actual_checksum,
        fixtures_dir=str(expected.directory),
        warnings=tuple(warnings),
    )

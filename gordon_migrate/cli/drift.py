"""``drift-check``, ``fixtures`` and ``grants``: loaded by the group only when one of them runs.

Thin: parse, call ``gordon_migrate.drift``, render, exit code. The drift package is imported
inside the commands, so ``gordon-migrate apply`` never pays for it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gordon_migrate.cli.options import (
    common_options,
    emit_json,
    fixtures_dir_option,
    format_option,
    setting_option,
    setup,
)
from gordon_migrate.core.settings import (
    Settings,
    database_url,
    embedded_version,
    flag_url,
    load_bundle,
    resolve_dsn,
)

if TYPE_CHECKING:
    from gordon_migrate.core.dsn import Dsn
    from gordon_migrate.drift import DriftReport


@click.command("drift-check")
@common_options
@format_option
@fixtures_dir_option
@click.option(
    "--metrics-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Also write node_exporter textfile metrics here (atomically, on failure too).",
)
@click.option(
    "--fix-sql",
    is_flag=True,
    help="Print, instead of the report, a SQL script restoring every difference that can be "
    "restored without losing data; the others are listed in it as comments. Runs nothing.",
)
@click.pass_context
def drift_check(
    ctx: click.Context,
    /,
    fmt: str,
    fixtures_dir: Path | None,
    metrics_file: Path | None,
    fix_sql: bool,
) -> None:
    """Verify the live schema, grants and NOTIFY channels match the fixtures; exit 0/1.

    Read-only (one READ ONLY transaction); meant to run as gordon_drift_reader. Exit 1 on
    any difference and when the database cannot be checked. With --fix-sql the report is
    replaced by the script that puts things back (exit 1 still tells there was drift).
    """
    settings = setup(ctx)
    from gordon_migrate.drift import check

    with check.collector_paused():  # the report too is tens of thousands of acyclic strings
        _drift_check(ctx, settings, fmt, fixtures_dir, metrics_file, fix_sql)


def _drift_check(
    ctx: click.Context,
    settings: Settings,
    fmt: str,
    fixtures_dir: Path | None,
    metrics_file: Path | None,
    fix_sql: bool,
) -> None:
    from gordon_migrate.drift import check, render

    started = time.perf_counter()
    target: Dsn | None = None
    try:
        target = resolve_dsn(settings)
        report = check.run_drift_check(target, fixtures_dir, with_fixes=fix_sql or fmt == "json")
    except Exception:
        if metrics_file is not None:
            _metrics(metrics_file, None, target, database_url(settings), started)
        raise
    if metrics_file is not None:
        _metrics(metrics_file, report, target, database_url(settings), started)
    if fix_sql:
        click.echo(render.fix_script(report), nl=False)
    elif fmt == "json":
        emit_json(render.report_json(report, target))
    else:
        click.echo(render.report_text(report, target))
    if not report.ok:
        ctx.exit(1)


def _metrics(
    path: Path, report: DriftReport | None, target: Dsn | None, url: str | None, started: float
) -> None:
    from gordon_migrate.drift import metrics

    database = report.database if report is not None else _database_name(target, url)
    metrics.write_textfile(
        path, report, database=database, duration_s=time.perf_counter() - started
    )


def _database_name(target: Dsn | None, url: str | None) -> str:
    """The database a DSN names, for metric labels when the connection failed (``""`` for a
    DSN that cannot be parsed unambiguously: its "database" may be part of a password)."""
    from gordon_migrate.core import dsn

    return dsn.database_name(target.value if target is not None else url)


@click.group("fixtures")
def fixtures_group() -> None:
    """Drift fixtures: the pinned snapshot drift-check compares with."""


@fixtures_group.command("update")
@setting_option(
    "--database-url",
    metavar="URL",
    default=None,
    help="A scratch server (superuser or CREATEDB role): a throwaway database is created there, "
    "migrated, read and dropped. Default: a throwaway embedded server. DATABASE_URL is never "
    "read here.",
)
@setting_option(
    "--migrations-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Build from these migrations instead of the bundled ones.",
)
@setting_option("--log-level", default=None, help="debug|info|warning|error.")
@setting_option("--log-format", type=click.Choice(["auto", "json", "console"]), default=None)
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the fixtures here (default: fixtures/ of this source checkout).",
)
@click.option(
    "--pg-version",
    type=click.Choice(["18", "16"]),
    default=None,
    help="Embedded PostgreSQL major version of the scratch server (default 18).",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 and show the diff when the fixtures are out of date.",
)
@click.pass_context
def fixtures_update(
    ctx: click.Context,
    /,
    output: Path | None,
    pg_version: str | None,
    check_only: bool,
) -> None:
    """Rebuild the fixtures from a scratch database with every migration applied.

    By default on a throwaway embedded server. With --database-url (the flag only, never
    DATABASE_URL), a scratch database is created on that server, used, and dropped: give a
    scratch server, never production.
    """
    settings = setup(ctx)
    from gordon_migrate.core import dsn
    from gordon_migrate.drift import fixtures
    from gordon_migrate.rehearse import functions

    migrations = load_bundle(settings)
    url = flag_url(settings)
    server = dsn.parse(url) if url is not None else None
    directory = output if output is not None else _checkout_fixtures()
    prior = fixtures.prior_lockplan(directory)
    pinned_functions = functions.prior(directory)
    if server is not None:
        files = fixtures.generate(
            migrations, server=server, lockplan_prior=prior, functions_prior=pinned_functions
        )
    else:
        version = int(pg_version) if pg_version else embedded_version(settings)
        files = fixtures.generate(
            migrations, pg_version=version, lockplan_prior=prior, functions_prior=pinned_functions
        )
    if check_only:
        stale = fixtures.stale(files, directory)
        if not stale:
            click.echo(f"fixtures in {directory} are up to date")
            return
        for diff in stale.values():
            click.echo(diff, nl=False)
        if fixtures.LOCKPLAN_FILE in stale:
            click.echo(fixtures.lockplan_change(files[fixtures.LOCKPLAN_FILE], directory))
        click.echo(
            f"fixtures in {directory} are out of date ({', '.join(stale)}): "
            "run `gordon-migrate fixtures update`"
        )
        ctx.exit(1)
    changed = fixtures.write(files, directory)
    checksum = files[fixtures.CHECKSUM_FILE].split()[0]
    if changed:
        click.echo(f"updated {', '.join(changed)} in {directory}")
    else:
        click.echo(f"fixtures in {directory} already up to date")
    click.echo(f"schema sha256 {checksum} ({len(migrations)} migrations)")


def _checkout_fixtures() -> Path:
    from gordon_migrate.core.errors import ConfigError
    from gordon_migrate.drift import fixtures

    here = fixtures.bundled_dir()
    if "_bundle" in here.parts or not (here.parent / "pyproject.toml").is_file():
        raise ConfigError("not running from a source checkout: pass --output DIR for the fixtures")
    return here


@click.command("grants")
@common_options
@format_option
@click.option(
    "--table", default=None, metavar="SCHEMA.TABLE", help="Show this table's column grants."
)
@click.option("--mismatches", is_flag=True, help="Only the rows that differ from the fixtures.")
@fixtures_dir_option
@click.pass_context
def grants(
    ctx: click.Context,
    /,
    fmt: str,
    table: str | None,
    mismatches: bool,
    fixtures_dir: Path | None,
) -> None:
    """The role x object grant matrix, expected (fixtures) against actual; exit 1 on mismatch.

    Cells are psql's privilege letters (r SELECT, a INSERT, w UPDATE, d DELETE, D TRUNCATE,
    x REFERENCES, t TRIGGER, m MAINTAIN, X EXECUTE, U USAGE, C CREATE, c CONNECT,
    T TEMPORARY; * grantable, + granted by another role, - none); ``actual!expected`` marks a
    mismatch. The same read-only snapshot as drift-check, laid out as the TUI's Grants screen.
    """
    settings = setup(ctx)
    from gordon_migrate.drift import grant_matrix, render

    target = resolve_dsn(settings)
    found = grant_matrix.grant_matrices(target, fixtures_dir, purpose="grants")
    shown = found.columns_of(table) if table else found.objects
    ok = found.ok
    attributes = found.role_attributes
    if table:
        # That table only: its own row of the object matrix and its columns' grants.
        name = grant_matrix.relation_name(table)
        rows = [o for o in found.objects.objects if grant_matrix.relation_name(o) == name]
        if not rows and not shown.objects:
            from gordon_migrate.core.errors import ConfigError

            raise ConfigError(
                f"no such table: {name} is neither in the grant fixtures nor in database "
                f"{found.database}; name it as SCHEMA.TABLE (`gordon-migrate grants` lists them)"
            )
        ok = shown.ok and all(found.objects.row_ok(r) for r in rows)
        attributes = ()
    if fmt == "json":
        emit_json(
            {
                "ok": ok,
                "database": found.database,
                "target": target.redacted,
                "matrix": render.matrix_json(shown),
                "role_attributes": [
                    {"role": a.role, "facet": a.facet, "expected": a.expected, "actual": a.actual}
                    for a in attributes
                ],
            }
        )
    else:
        title = f"column grants of {table}" if table else "grant matrix"
        click.echo(f"{title} of database {found.database} ({target.redacted})")
        click.echo(render.matrix_text(shown, mismatches_only=mismatches))
        for a in attributes:
            click.echo(f"role {a.role} {a.facet}: expected {a.expected}, actual {a.actual}  <-")
        click.echo("grants match the fixtures" if ok else "GRANTS DIFFER from the fixtures")
    if not ok:
        ctx.exit(1)

"""Function volatility and table sizes as the server states them (issue 21, item 3 and the
never-analysed table): the pinned pg_catalog is this server's pg_proc, a default lint calls
stable is one PostgreSQL adds without a rewrite, one it calls volatile is rewritten (the
relfilenode measured on the server), and a never-analysed table is sized by its pages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gordon_migrate.core import bundle
from gordon_migrate.drift import fixtures
from gordon_migrate.rehearse import functions
from gordon_migrate.testing import GordonDatabase, TestServer
from tests.support.cli import CliRunner

BUNDLE = bundle.load()
NEXT = f"{len(BUNDLE) + 1:04d}"
VOLATILE = "add-column-volatile-default"

# Independent of rehearse.functions' reader: the catalog as the test reads it.
_PG_CATALOG = """
SELECT proname, pronargs, pronargdefaults, provariadic <> 0, provolatile::text
FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace AND prokind = 'f'
"""


def _arguments(nargs: int, defaults: int, variadic: bool) -> str:
    low = nargs - defaults
    if variadic:
        return f"{low}+"
    return str(nargs) if low == nargs else f"{low}-{nargs}"


def test_the_pinned_functions_are_pg_proc_of_this_server(gordon_db: GordonDatabase) -> None:
    with gordon_db.connect() as conn:
        major = conn.info.server_version // 10000
        rows = conn.execute(_PG_CATALOG).fetchall()
    expected = {f"{n}({_arguments(a, d, v)})\t{vol}" for n, a, d, v, vol in rows}
    pinned = functions.bundled().on(major)
    assert pinned is not None, (
        f"PostgreSQL {major}'s functions are not pinned in fixtures/{functions.FILE}: "
        "run `gordon-migrate fixtures update` on it"
    )
    actual = {f"{s.name}({s.arguments})\t{s.volatility}" for s in pinned}
    assert actual == expected, (
        f"fixtures/{functions.FILE} is stale for PostgreSQL {major}: only pinned "
        f"{sorted(actual - expected)[:5]}, only on the server {sorted(expected - actual)[:5]}"
    )
    assert len(expected) > 2000  # the whole catalog, not a sample of it


def test_fixtures_update_check_catches_stale_functions(
    cli: CliRunner, gordon_server: TestServer, tmp_path: Path
) -> None:
    """``now()`` pinned as volatile on this major: the server says stable."""
    out = tmp_path / "fixtures"
    shutil.copytree(fixtures.bundled_dir(), out)
    path = out / functions.FILE
    pinned = functions.load(path)
    major = gordon_server.version
    own = pinned.on(major)
    assert own is not None
    edited = frozenset(
        functions.Signature(s.schema, s.name, s.low, s.high, "v") if s.name == "now" else s
        for s in own
    )
    text = functions.render(functions.merge(pinned, major, edited))
    path.write_text(text, encoding="utf-8")
    server = ("--database-url", gordon_server.admin_dsn)
    stale = cli("fixtures", "update", "--check", "--output", str(out), *server)
    assert stale.code == 1, stale.err
    assert f"fixtures in {out} are out of date ({functions.FILE})" in stale.out
    assert f"-now(0)\tv\t{major}\n" in stale.out, stale.out
    assert path.read_text(encoding="utf-8") == text, "--check wrote nothing"


def _fill(db: GordonDatabase) -> None:
    """Rows for a rewrite to copy (a volatile default is computed for each of them)."""
    with db.connect() as conn:
        conn.execute("ALTER TABLE trading.risk_audit DISABLE TRIGGER USER")
        conn.execute(
            "INSERT INTO trading.risk_audit (actor, action, reason) "
            "SELECT 'ops', 'config_changed', 'row ' || g FROM generate_series(1, 20) g"
        )


def _relfilenode(db: GordonDatabase, table: str) -> int:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT relfilenode::int8 FROM pg_class WHERE oid = %s::regclass", (table,)
        )
        found = row.fetchone()
    assert found is not None
    return int(found[0])


def _rules(cli: CliRunner, path: Path, *live: str) -> dict[str, str]:
    # With a database, the file is not rehearsed: what it calls or names was made on the
    # target outside any migration, which a scratch replay of the migrations does not have.
    plan = ("--static-plan",) if live else ()
    result = cli("lint", "--format", "json", *live, *plan, str(path))
    report = json.loads(result.out)
    return {f["rule"]: f["message"] for f in report["findings"]}


def _rewrites(db: GordonDatabase, table: str, sql: str) -> bool:
    """Run ``sql`` on ``db``: whether ``table`` got a new relfilenode (was rewritten)."""
    before = _relfilenode(db, table)
    with db.connect() as conn:
        conn.execute(sql)
    return _relfilenode(db, table) != before


def test_a_stable_default_is_neither_flagged_nor_rewritten_a_volatile_one_is_both(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    table = "trading.risk_audit"
    _fill(gordon_db)
    cases = {
        "d date DEFAULT (timezone('UTC', now()))::date": False,
        "t timestamptz DEFAULT clock_timestamp()": True,
        "u uuid DEFAULT gen_random_uuid()": True,
    }
    for i, (column, volatile) in enumerate(cases.items()):
        sql = f"ALTER TABLE {table} ADD COLUMN {column};"
        path = tmp_path / f"{NEXT}_case{i}.sql"
        path.write_text(sql + "\n", encoding="utf-8")
        static = _rules(cli, path)
        live = _rules(cli, path, "--database-url", gordon_db.dsn)
        assert (VOLATILE in static) == volatile, (sql, static)
        assert (VOLATILE in live) == volatile, (sql, live)
        assert "volatility unknown" not in static.get(VOLATILE, ""), static
        assert _rewrites(gordon_db, table, sql) == volatile, f"the server disagrees: {sql}"


def test_a_bundle_function_has_the_volatility_its_create_function_declares(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    """Declared STABLE: no finding, no rewrite. Declared with no volatility (VOLATILE, as
    PostgreSQL defines it): a finding, and the server rewrites."""
    functions_sql = (
        "CREATE FUNCTION trading.today_utc() RETURNS date STABLE LANGUAGE sql "
        "SET search_path = pg_catalog AS $$ SELECT (timezone('UTC', now()))::date $$;\n"
        "CREATE FUNCTION trading.next_token(n int DEFAULT 8) RETURNS text LANGUAGE sql "
        "SET search_path = pg_catalog AS $$ SELECT md5(random()::text) $$;\n"
    )
    cases = {
        "ADD COLUMN d date DEFAULT trading.today_utc()": False,
        "ADD COLUMN k text DEFAULT trading.next_token()": True,
    }
    with gordon_db.connect() as conn:
        conn.execute(functions_sql)
    _fill(gordon_db)
    for i, (change, volatile) in enumerate(cases.items()):
        sql = f"ALTER TABLE trading.risk_audit {change};"
        root = tmp_path / f"bundle{i}"
        shutil.copytree(bundle.bundled_dir(), root)
        (root / f"{NEXT}_functions.sql").write_text(functions_sql, encoding="utf-8")
        path = root / f"{int(NEXT) + 1:04d}_default.sql"
        path.write_text(sql + "\n", encoding="utf-8")
        found = _rules(cli, path, "--migrations-dir", str(root))
        assert (VOLATILE in found) == volatile, (sql, found)
        assert _rewrites(gordon_db, "trading.risk_audit", sql) == volatile, (
            f"the server disagrees: {sql}"
        )


def test_a_function_only_the_target_has_is_read_from_its_pg_proc(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    """Unknown to the bundle and to pg_catalog: static lint takes it as volatile and says
    so; with --database-url the target's pg_proc says STABLE, and the server agrees."""
    with gordon_db.connect() as conn:
        conn.execute(
            "CREATE FUNCTION trading.ops_day() RETURNS date STABLE LANGUAGE sql "
            "AS $$ SELECT current_date $$"
        )
    _fill(gordon_db)
    sql = "ALTER TABLE trading.risk_audit ADD COLUMN day date DEFAULT trading.ops_day();"
    path = tmp_path / f"{NEXT}_day.sql"
    path.write_text(sql + "\n", encoding="utf-8")
    static = _rules(cli, path)
    assert static.get(VOLATILE, "").endswith("(volatility unknown: trading.ops_day)"), static
    live = _rules(cli, path, "--database-url", gordon_db.dsn)
    assert VOLATILE not in live, live
    assert not _rewrites(gordon_db, "trading.risk_audit", sql)


def test_a_never_analysed_table_is_sized_by_its_pages(
    cli: CliRunner, tmp_path: Path, gordon_db: GordonDatabase
) -> None:
    """50,000 rows never analysed (reltuples -1): a non-concurrent index build is an error;
    ten rows never analysed stay a warning (sized by their one page, not assumed large)."""
    with gordon_db.connect() as conn:
        for name, rows in (("public.unanalysed_big", 50_000), ("public.unanalysed_small", 10)):
            conn.execute(
                f"CREATE TABLE {name} (id int, note text) WITH (autovacuum_enabled = false)"
            )
            conn.execute(
                f"INSERT INTO {name} SELECT g, 'row ' || g FROM generate_series(1, {rows}) g"
            )
        found = conn.execute(
            "SELECT relname::text, reltuples FROM pg_class "
            "WHERE relname IN ('unanalysed_big', 'unanalysed_small')"
        ).fetchall()
    assert {str(n): float(t) for n, t in found} == {
        "unanalysed_big": -1.0,
        "unanalysed_small": -1.0,
    }, "the tables must never have been analysed"
    for name, severity in (("unanalysed_big", "error"), ("unanalysed_small", "warning")):
        path = tmp_path / f"{NEXT}_{name}.sql"
        path.write_text(f"CREATE INDEX {name}_note_idx ON public.{name} (note);\n", "utf-8")
        # Not rehearsed: the table was made outside the migrations (see _rules).
        result = cli("lint", "--database-url", gordon_db.dsn, "--static-plan", str(path))
        assert result.code == (1 if severity == "error" else 0), result.out
        assert f"index-not-concurrent  {severity}" in result.out, result.out
        assert "never analysed, up to" in result.out, result.out
    with gordon_db.connect() as conn:
        (count,) = conn.execute("SELECT count(*) FROM public.unanalysed_big").fetchone() or (0,)
        indexes = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'unanalysed_%'"
        ).fetchone()
    assert count == 50_000, "lint changed nothing"
    assert indexes == (0,), "lint built no index"

"""``gordon-migrate rehearse``: what the server itself shows a statement locks, rewrites,
scans, creates and drops, measured on a scratch database; the target is only read."""

from __future__ import annotations

import json
from dataclasses import replace

import psycopg
from psycopg import conninfo

from gordon_migrate.rehearse.model import Lock, Rehearsal, StatementFacts
from gordon_migrate.testing import GordonDatabase, TestServer
from tests.support.cli import Bundle, CliRunner

BASE = """\
CREATE TABLE parent (id bigint PRIMARY KEY);
CREATE TABLE child (
    id bigint PRIMARY KEY,
    parent_id bigint CONSTRAINT child_parent_fk REFERENCES parent,
    note text
);
CREATE INDEX child_parent_idx ON child (parent_id);
"""


def rehearse(cli: CliRunner, server: TestServer, *args: str) -> Rehearsal:
    result = cli("rehearse", "--format", "json", "--scratch-url", server.admin_dsn, *args)
    assert result.code == 0, result.err
    payload = json.loads(result.out)
    assert payload.pop("ok") is True
    return Rehearsal.from_json(payload)


def pending(
    cli: CliRunner, server: TestServer, bundle_dir: Bundle, change: str, *, header: str = ""
) -> tuple[StatementFacts, ...]:
    """The statements of ``change``, rehearsed as migration 0002 after ``BASE``."""
    root = bundle_dir({"0001_base.sql": BASE, "0002_change.sql": header + change})
    rehearsal = rehearse(cli, server, "--migrations-dir", str(root))
    assert [m.version for m in rehearsal.migrations] == [1, 2]
    return rehearsal.migrations[1].statements


def modes(statement: StatementFacts) -> dict[str, str]:
    return {lock.object: lock.mode for lock in statement.locks}


def test_reindex_table_locks_its_indexes_access_exclusive_which_counts_for_the_table(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    (reindex,) = pending(cli, gordon_server, bundle_dir, "REINDEX TABLE child;\n")
    assert modes(reindex)["public.child_pkey"] == "ACCESS EXCLUSIVE"
    assert modes(reindex)["public.child_parent_idx"] == "ACCESS EXCLUSIVE"
    table = next(lock for lock in reindex.locks if lock.object == "public.child")
    # REINDEX takes SHARE on the table itself; its readers are blocked through the indexes.
    assert table.mode == "ACCESS EXCLUSIVE"
    assert table.via in {"public.child_pkey", "public.child_parent_idx"}
    assert set(reindex.rewritten) == {"public.child_pkey", "public.child_parent_idx"}
    assert reindex.line == 1


def test_dropping_a_foreign_key_locks_the_referenced_table_too(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    (drop,) = pending(
        cli, gordon_server, bundle_dir, "ALTER TABLE child DROP CONSTRAINT child_parent_fk;\n"
    )
    assert modes(drop)["public.child"] == "ACCESS EXCLUSIVE"
    assert modes(drop)["public.parent"] == "ACCESS EXCLUSIVE"
    assert "constraint child_parent_fk on table child" in drop.dropped


def test_a_type_change_rewrites_and_a_constant_default_does_not(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    add, change = pending(
        cli,
        gordon_server,
        bundle_dir,
        "ALTER TABLE child ADD COLUMN flag int NOT NULL DEFAULT 0;\n"
        "ALTER TABLE child ALTER COLUMN note TYPE varchar(50);\n",
    )
    assert add.rewritten == ()
    assert add.scanned == ()
    assert modes(add)["public.child"] == "ACCESS EXCLUSIVE"
    assert "public.child" in change.rewritten
    assert change.line == 2


def test_validating_a_constraint_scans_the_table_under_share_update_exclusive(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    add, validate = pending(
        cli,
        gordon_server,
        bundle_dir,
        "ALTER TABLE child ADD CONSTRAINT note_short CHECK (length(note) < 10) NOT VALID;\n"
        "ALTER TABLE child VALIDATE CONSTRAINT note_short;\n",
    )
    assert add.scanned == ()
    assert validate.scanned == ("public.child",)
    assert modes(validate)["public.child"] == "SHARE UPDATE EXCLUSIVE"
    assert validate.rewritten == ()


def test_create_index_concurrently_is_sampled_while_it_runs(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    create, build, vacuum = pending(
        cli,
        gordon_server,
        bundle_dir,
        "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\nVACUUM t;\n",
        header="-- no-transaction\n",
    )
    assert not create.sampled, "a statement that can run in a transaction block is measured"
    assert modes(create)["public.t"] == "ACCESS EXCLUSIVE"
    assert build.sampled
    assert build.line == 3
    # Its own new index is invisible to others while locked: the table's lock is its own.
    assert Lock("public.t", "table", "SHARE UPDATE EXCLUSIVE") in build.locks
    assert "index public.t_id" in build.created
    assert build.scanned == ("public.t",)
    # Over in a millisecond, and waits for nothing: still seen queued for its lock.
    assert vacuum.sampled
    assert modes(vacuum) == {"public.t": "SHARE UPDATE EXCLUSIVE"}


def test_drop_cascade_lists_what_it_took_with_it(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    view, drop = pending(
        cli,
        gordon_server,
        bundle_dir,
        "CREATE VIEW child_notes AS SELECT id, note FROM child;\nDROP TABLE child CASCADE;\n",
    )
    assert "view public.child_notes" in view.created
    assert {"table public.child", "view public.child_notes", "index public.child_pkey"} <= set(
        drop.dropped
    )
    assert modes(drop)["public.parent"] == "ACCESS EXCLUSIVE", "the foreign key's other side"


def test_objects_kept_between_statements_are_named_as_the_server_names_them_now(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    """The objects are read again only after a statement that changed their catalogs: a row
    insert keeps them, a table's rename and a search path renamed them without a catalog row
    of theirs changing."""
    create, insert, _, trigger, rename, drop_trigger, path, drop_function = pending(
        cli,
        gordon_server,
        bundle_dir,
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';\n"
        "INSERT INTO parent VALUES (1);\n"
        "ALTER TABLE parent RENAME TO mother;\n"
        "CREATE TRIGGER touch BEFORE UPDATE ON mother FOR EACH ROW EXECUTE FUNCTION touch();\n"
        "ALTER TABLE mother RENAME TO elder;\n"
        "DROP TRIGGER touch ON elder;\n"
        "SET LOCAL search_path = pg_catalog;\n"
        "DROP FUNCTION public.touch();\n",
    )
    assert "function touch()" in create.created
    assert "trigger touch on table mother" in trigger.created
    assert insert.created == insert.dropped == ()
    assert rename.created == rename.dropped == ()
    assert drop_trigger.dropped == ("trigger touch on table elder",)
    assert path.created == path.dropped == ()
    assert drop_function.dropped == ("function public.touch()",)


def test_a_failing_statement_is_named_by_file_and_line(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    root = bundle_dir(
        {
            "0001_base.sql": BASE,
            "0002_bad.sql": "-- a comment\nALTER TABLE child ADD COLUMN x int;\n\n"
            "ALTER TABLE nowhere ADD COLUMN y int;\n",
        }
    )
    result = cli(
        "rehearse", "--scratch-url", gordon_server.admin_dsn, "--migrations-dir", str(root)
    )
    assert result.code == 1
    line = result.error_line
    assert line.startswith('0002_bad.sql:4: SQLSTATE 42P01: relation "nowhere" does not exist')
    assert "the target was not touched" in line
    assert result.out == ""


def test_a_statement_over_the_budget_is_cancelled_and_reported(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    root = bundle_dir({"0001_slow.sql": "SELECT 1;\nSELECT pg_sleep(5);\n"})
    result = cli(
        "rehearse",
        "--scratch-url",
        gordon_server.admin_dsn,
        "--migrations-dir",
        str(root),
        "--statement-budget",
        "200ms",
    )
    assert result.code == 1
    assert result.error_line.startswith(
        "0001_slow.sql:2: the statement ran longer than 200ms on the scratch and was cancelled"
    )


def test_a_scratch_url_naming_the_target_database_is_refused(
    cli: CliRunner, gordon_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    root = bundle_dir({"0001_base.sql": BASE})
    # Spelled otherwise than the target's URL: the server is asked who the target's session is.
    same = conninfo.make_conninfo(gordon_db.dsn, application_name="spelled otherwise")
    for scratch in (gordon_db.dsn, same):
        result = cli(
            "rehearse",
            "--database-url",
            gordon_db.dsn,
            "--scratch-url",
            scratch,
            "--migrations-dir",
            str(root),
        )
        assert result.code == 1
        assert "--scratch-url names the target database" in result.error_line


def _catalog_state(db: GordonDatabase) -> tuple[object, ...]:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT (SELECT md5(string_agg(oid::text || relname || relfilenode::text, ',' "
            "ORDER BY oid)) FROM pg_class), "
            "(SELECT md5(string_agg(version::text || success::text || encode(checksum, 'hex'), "
            "',' ORDER BY version)) FROM public._sqlx_migrations)"
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_the_target_is_only_read_and_only_its_pending_migrations_are_rehearsed(
    cli: CliRunner, gordon_server: TestServer, gordon_empty_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    applied = bundle_dir({"0001_base.sql": BASE})
    done = cli("apply", "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(applied))
    assert done.code == 0, done.err
    both = bundle_dir(
        {"0001_base.sql": BASE, "0002_more.sql": "ALTER TABLE child ADD COLUMN x int;\n"}
    )
    before = _catalog_state(gordon_empty_db)
    rehearsal = rehearse(
        cli, gordon_server, "--database-url", gordon_empty_db.dsn, "--migrations-dir", str(both)
    )
    assert rehearsal.replayed == (1,)
    assert [m.version for m in rehearsal.migrations] == [2]
    (add,) = rehearsal.migrations[0].statements
    assert modes(add) == {"public.child": "ACCESS EXCLUSIVE"}
    assert _catalog_state(gordon_empty_db) == before
    with gordon_server.admin() as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'gordon\\_rehearse\\_%'"
            " AND datname NOT LIKE 'gordon\\_rehearse\\_tpl\\_%'"
        ).fetchall()
    assert left == [], "the scratch database is dropped (a replay template is kept)"


def test_rehearse_on_the_embedded_server_in_text(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    """The default scratch: a throwaway embedded server (the other supported major)."""
    other = "16" if gordon_server.version == 18 else "18"
    root = bundle_dir({"0001_base.sql": BASE, "0002_reindex.sql": "REINDEX TABLE child;\n"})
    result = cli("rehearse", "--pg-version", other, "--migrations-dir", str(root))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "0002 (0002_reindex.sql): in one transaction, " in result.out
    assert "  0002_reindex.sql:1  REINDEX TABLE child  (" in result.out
    assert any(
        x.startswith("    locks: public.child: ACCESS EXCLUSIVE through public.child_")
        for x in lines
    )
    assert lines[-1].startswith(f"measured on PostgreSQL {other}.")


def test_a_scratch_server_where_the_role_may_not_create_a_database_is_refused(
    cli: CliRunner, gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    """The scratch database is created on the server given by flag: a role without CREATEDB
    gets one line saying so, and nothing is left behind (shared by `fixtures update`)."""
    role = "gordon_no_createdb"
    with psycopg.connect(gordon_server.admin_dsn, autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} LOGIN NOCREATEDB")
        before = admin.execute("SELECT count(*) FROM pg_database").fetchone()
    try:
        url = conninfo.make_conninfo(gordon_server.admin_dsn, user=role, dbname="postgres")
        root = bundle_dir({"0001_base.sql": BASE})
        result = cli("rehearse", "--scratch-url", url, "--migrations-dir", str(root))
    finally:
        with psycopg.connect(gordon_server.admin_dsn, autocommit=True) as admin:
            after = admin.execute("SELECT count(*) FROM pg_database").fetchone()
            admin.execute(f"DROP ROLE {role}")
    assert result.code == 1
    assert result.error_line.startswith("cannot create a scratch database on "), result.err
    assert "permission denied to create database" in result.error_line
    assert result.error_line.endswith(
        "--scratch-url needs a scratch server where this role may CREATE DATABASE"
    )
    assert after == before


def _facts(rehearsal: Rehearsal) -> list[object]:
    """What was measured, without the durations (they change run to run)."""
    return [
        [(s.line, s.locks, s.rewritten, s.scanned, s.created, s.dropped) for s in m.statements]
        for m in rehearsal.migrations
    ]


def test_the_applied_versions_are_replayed_once_into_a_template_kept_on_the_scratch_server(
    cli: CliRunner, gordon_server: TestServer, gordon_db: GordonDatabase, bundle_dir: Bundle
) -> None:
    from gordon_migrate.core import bundle
    from gordon_migrate.rehearse.run import template_name

    root = bundle_dir({})
    for m in bundle.load():
        (root / m.filename).write_bytes(m.data)
    (root / "0039_runs_note.sql").write_text("ALTER TABLE trading.runs ADD COLUMN note text;\n")
    name = template_name(bundle.load())
    with gordon_server.admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    args = ("--database-url", gordon_db.dsn, "--migrations-dir", str(root))
    first = rehearse(cli, gordon_server, *args)
    with gordon_server.admin() as admin:
        row = admin.execute(
            "SELECT datallowconn FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    assert row == (False,)  # kept, and nobody (autovacuum neither) connects to it
    second = rehearse(cli, gordon_server, *args)  # copies it: no replay
    assert [m.version for m in first.migrations] == [m.version for m in second.migrations] == [39]
    assert _facts(first) == _facts(second)
    assert first.replayed == second.replayed == tuple(m.version for m in bundle.load())


# Statements that change relations and objects every way a statement can, one after another in
# one transaction: created, rewritten (a type change, CLUSTER, a matview refresh, a REINDEX),
# scanned (a validation), renamed and moved (a table's constraints and triggers are named after
# it; a function after its argument types), dropped by CASCADE, DDL in a DO block, and the
# search path changed (descriptions name a schema the path does not reach).
EVERY_WAY = """\
CREATE TABLE other (id bigint PRIMARY KEY, child_id bigint REFERENCES child);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER other_touch BEFORE UPDATE ON other FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE other ENABLE ROW LEVEL SECURITY;
CREATE POLICY other_all ON other USING (true);
CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE FUNCTION of_mood(m mood) RETURNS text LANGUAGE sql AS $$ SELECT m::text $$;
ALTER TYPE mood RENAME TO temper;
INSERT INTO parent SELECT g FROM generate_series(1, 50) g;
INSERT INTO child SELECT g, g, 'n' FROM generate_series(1, 50) g;
ALTER TABLE child ALTER COLUMN note TYPE varchar(20);
ALTER TABLE child ADD CONSTRAINT child_note_check CHECK (note <> '') NOT VALID;
ALTER TABLE child VALIDATE CONSTRAINT child_note_check;
CLUSTER child USING child_pkey;
CREATE MATERIALIZED VIEW parent_count AS SELECT count(*) AS n FROM parent;
REFRESH MATERIALIZED VIEW parent_count;
REINDEX TABLE parent;
CREATE SCHEMA moved;
ALTER TABLE other SET SCHEMA moved;
ALTER TABLE moved.other RENAME TO renamed;
ALTER SCHEMA moved RENAME TO shifted;
SET LOCAL search_path = shifted, public;
CREATE OR REPLACE FUNCTION of_mood(m temper) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;
ALTER FUNCTION of_mood(temper) RENAME TO of_temper;
DO $$ BEGIN EXECUTE 'CREATE INDEX child_note_idx ON child (note)'; END $$;
TRUNCATE parent CASCADE;
DROP TABLE child CASCADE;
DROP SCHEMA shifted CASCADE;
"""


def test_reading_only_what_a_statement_can_change_gives_every_fact_the_full_read_gives(
    gordon_server: TestServer, bundle_dir: Bundle
) -> None:
    """``measure.measured``'s premises, held on the server: a statement in a transaction
    rewrites, scans, creates or drops only relations it locks, and keeps the lock to the end;
    it changes the description of an object only through a row of a catalog it counts. The
    bundle and every way a statement changes a relation or an object, rehearsed reading
    everything after each statement and reading only what changed: the facts are the same."""
    from gordon_migrate.core import bundle, dsn
    from gordon_migrate.rehearse.run import rehearse as run_rehearsal

    root = bundle_dir({"0039_base.sql": BASE, "0040_every_way.sql": EVERY_WAY})
    migrations = [*bundle.load(), *bundle.load(root)]
    scratch = dsn.parse(gordon_server.admin_dsn)

    def facts(exhaustive: bool) -> list[list[StatementFacts]]:
        rehearsal = run_rehearsal(migrations, scratch_server=scratch, exhaustive=exhaustive)
        # Each rehearsal has a scratch database of its own name, which a lock can name.
        return [
            [
                replace(s, ms=0.0, locks=tuple(_scratch_named(lock) for lock in s.locks))
                for s in m.statements
            ]
            for m in rehearsal.migrations
        ]

    # Roles are the cluster's: the first rehearsal settles what 0001 does to them (another
    # test may have changed them), so that the two compared meet the same cluster.
    facts(False)
    every, locked = facts(True), facts(False)
    for was, got in zip(every, locked, strict=True):
        for a, b in zip(was, got, strict=True):
            # A sampled statement's locks are what a sampler caught (not read after it).
            if not a.sampled:
                assert b == a, _differences(a, b)
    changed = locked[-1]
    # The facts the premises are about, so that the comparison compares something.
    assert any(s.rewritten for s in changed) and any(s.scanned for s in changed)
    assert any("table public.other" in s.created for s in changed)
    assert any("table public.child" in s.dropped for s in changed)
    # Described as the server names them after the renames (table, schema, path).
    assert "trigger other_touch on table renamed" in changed[-1].dropped
    assert "function of_temper(temper)" in changed[-1].dropped
    assert any("function of_mood(temper)" in s.created for s in changed)


def _scratch_named(lock: Lock) -> Lock:
    if lock.object.startswith("database gordon_rehearse_"):
        return replace(lock, object="database (the scratch)")
    return lock


def _differences(full: StatementFacts, fast: StatementFacts) -> str:
    fields = ("locks", "rewritten", "scanned", "created", "dropped")
    return f"line {full.line}: " + "; ".join(
        f"{name}: full {getattr(full, name)} fast {getattr(fast, name)}"
        for name in fields
        if getattr(full, name) != getattr(fast, name)
    )


def test_a_lock_on_an_index_the_server_marked_dead_does_not_count_for_its_table(
    gordon_db: GordonDatabase,
) -> None:
    """The last step of DROP INDEX CONCURRENTLY: ACCESS EXCLUSIVE on the old index, which the
    server marked dead first (no reader or writer of the table opens it). Read as the sampler
    reads it, the lock is listed on the index, marked dead, blocking neither; the table keeps
    the mode it was locked in itself (SHARE UPDATE EXCLUSIVE), so the deploy gate predicts no
    blocking hold for it."""
    from gordon_migrate.rehearse.measure import LOCKS_OF, lock_rows, snapshot, statement_facts
    from tests.support.dead_index import held_at_last_step

    with gordon_db.connect() as conn:
        conn.execute("CREATE INDEX fills_probe_idx ON trading.fills (fee_asset)")
    sql = "DROP INDEX CONCURRENTLY trading.fills_probe_idx"
    with (
        held_at_last_step(gordon_db.dsn, sql, "trading.fills") as held,
        psycopg.connect(gordon_db.dsn, autocommit=True) as watch,
    ):
        (pid,) = watch.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'dead-index-probe'"
        ).fetchone() or (None,)
        rows = lock_rows(watch.execute(LOCKS_OF, (pid,)).fetchall())
        seen = snapshot(watch, in_transaction=False)
    assert held == {"trading.fills_probe_idx": "AccessExclusiveLock"}
    facts = statement_facts(
        line=1, text=sql, ms=0.0, before=seen, after=seen, new_locks=rows, sampled=True
    )
    locks = {lock.object: lock for lock in facts.locks if lock.kind != "object"}
    index = locks["trading.fills_probe_idx"]
    assert (index.mode, index.dead, index.blocks) == ("ACCESS EXCLUSIVE", True, "neither")
    table = locks["trading.fills"]
    assert (table.mode, table.via, table.dead) == ("SHARE UPDATE EXCLUSIVE", None, False)

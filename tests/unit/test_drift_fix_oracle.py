"""drift/fix.py on the differences the oracle added (issue 22, item 6): no server needed."""

from __future__ import annotations

from gordon_migrate.drift.catalogs import BUILTIN_LANGUAGES
from gordon_migrate.drift.fix import Context, fix_for
from gordon_migrate.drift.model import Line

CTX = Context(database="gordon", migrator="deploy", server_version=180000)


def _lines(obj: str, **facets: str) -> list[Line]:
    return [Line(obj, facet.replace("_", " "), value) for facet, value in facets.items()]


def test_a_views_options_are_put_back_with_alter_view() -> None:
    obj = "view market_data.v"
    found = fix_for(
        obj,
        _lines(obj, definition="SELECT 1", options="security_barrier=true"),
        _lines(obj, definition="SELECT 1", options="check_option=local, security_barrier=false"),
        CTX,
    )
    assert found.sql == (
        "ALTER VIEW market_data.v RESET (check_option);\n"
        "ALTER VIEW market_data.v SET (security_barrier=true);"
    )
    assert found.note is None


def test_an_identitys_kind_is_put_back_but_not_an_identity_dropped() -> None:
    obj = "column trading.fills.fill_id"
    pinned = _lines(obj, type="bigint", identity="always")
    found = fix_for(obj, pinned, _lines(obj, type="bigint", identity="by default"), CTX)
    assert found.sql == "ALTER TABLE trading.fills ALTER COLUMN fill_id SET GENERATED ALWAYS;"
    dropped = fix_for(obj, pinned, _lines(obj, type="bigint"), CTX)
    assert dropped.sql is None and dropped.note


def test_a_default_given_to_a_views_column_is_dropped() -> None:
    obj = "column market_data.v.volume"
    found = fix_for(obj, None, _lines(obj, default="0"), CTX)
    assert found.sql == "ALTER VIEW market_data.v ALTER COLUMN volume DROP DEFAULT;"
    table_column = fix_for(obj, None, _lines(obj, default="0", type="int", position="2"), CTX)
    assert table_column.sql is None, "a table's column holds data: never dropped"


def test_a_builtin_language_is_a_comment_with_the_command_that_restores_it() -> None:
    obj = "built-in: language plpgsql"
    found = fix_for(
        obj,
        [Line(obj, "definition", BUILTIN_LANGUAGES["plpgsql"])],
        [Line(obj, "definition", "trusted, procedural, handler plpgsql_call_handler()")],
        CTX,
    )
    assert found.sql is None
    assert found.note is not None
    assert found.note.endswith(
        "a superuser runs: CREATE OR REPLACE TRUSTED LANGUAGE plpgsql HANDLER "
        "plpgsql_call_handler INLINE plpgsql_inline_handler VALIDATOR plpgsql_validator;"
    )

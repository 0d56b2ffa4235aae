"""The pinned functions file and how lint resolves a call (no server: the truth against
pg_proc is tests/test_lint_volatility.py)."""

from __future__ import annotations

import pytest
from pglast import ast, parse_sql

from gordon_migrate.core.errors import ConfigError
from gordon_migrate.lint import functions as resolve
from gordon_migrate.rehearse import functions
from gordon_migrate.rehearse.functions import Pinned, Signature


def _expr(sql: str) -> object:
    stmt = parse_sql(f"SELECT {sql}")[0].stmt
    assert isinstance(stmt, ast.SelectStmt) and stmt.targetList
    target = stmt.targetList[0]
    assert isinstance(target, ast.ResTarget)
    return target.val


def _stmt(sql: str) -> ast.Node:
    node = parse_sql(sql)[0].stmt
    assert node is not None
    return node


def _cat(name: str, arguments: str, volatility: functions.Volatility) -> Signature:
    low, _, high = arguments.partition("-")
    if arguments.endswith("+"):
        return Signature("pg_catalog", name, int(arguments[:-1]), None, volatility)
    return Signature("pg_catalog", name, int(low), int(high or low), volatility)


def test_the_file_round_trips_and_names_the_majors_per_line() -> None:
    base = frozenset({_cat("now", "0", "s"), _cat("concat", "1+", "s"), _cat("f", "0-2", "i")})
    pinned = Pinned({18: base, 16: base - {_cat("f", "0-2", "i")} | {_cat("f", "0-2", "v")}})
    text = functions.render(pinned)
    body = [x for x in text.splitlines() if not x.startswith("#")]
    assert body == sorted(body)
    assert "f(0-2)\ti\t18" in body and "f(0-2)\tv\t16" in body and "now(0)\ts\t16 18" in body
    assert functions.parse(text) == pinned
    assert functions.render(functions.merge(pinned, 16, base)).count("\t16 18") == 3


@pytest.mark.parametrize(
    "line", ["now\ts\t18", "now(x)\ts\t18", "now(0)\tq\t18", "now(0)\ts\t", "now(0)\ts"]
)
def test_a_malformed_line_is_refused_naming_it(line: str) -> None:
    with pytest.raises(ConfigError, match=r"functions\.txt:2: "):
        functions.parse(f"# head\n{line}\n")


def test_the_bundled_file_has_every_supported_major() -> None:
    pinned = functions.bundled()
    assert {15, 16, 18} <= set(pinned.majors)
    assert all(len(found) > 2000 for found in pinned.majors.values())


def test_overloads_by_argument_count_and_the_most_volatile_when_ambiguous() -> None:
    catalog = frozenset(
        {
            _cat("timezone", "2", "i"),
            _cat("timezone", "2", "s"),
            _cat("timezone", "1", "s"),
            _cat("now", "0", "s"),
            _cat("pick", "1", "i"),
            _cat("pick", "2", "v"),
        }
    )
    judged = resolve.judge(_expr("pick(1)"), {}, catalog)
    assert judged == resolve.Judgement(False)
    assert resolve.judge(_expr("pick(1, 2)"), {}, catalog).volatile
    # No pick of three arguments: the argument types would decide; the most volatile is taken.
    assert resolve.judge(_expr("pick(1, 2, 3)"), {}, catalog).volatile
    assert not resolve.judge(_expr("timezone('UTC', now())"), {}, catalog).volatile


def test_an_unknown_function_is_volatile_and_named() -> None:
    judged = resolve.judge(_expr("coalesce(x.nothing(1), nowhere())"), {}, frozenset())
    assert judged == resolve.Judgement(True, ("x.nothing", "nowhere"))


def test_a_cast_is_its_type_function_or_nothing() -> None:
    catalog = frozenset({_cat("date", "1", "s"), _cat("jolt", "1", "v")})
    assert not resolve.judge(_expr("'x'::date"), {}, catalog).volatile
    assert resolve.judge(_expr("'x'::jolt"), {}, catalog).volatile
    assert resolve.judge(_expr("'x'::unknown_type"), {}, catalog) == resolve.Judgement(False)


def test_create_function_declares_volatile_unless_it_says_otherwise() -> None:
    declared: resolve.Declared = {}
    for sql in (
        "CREATE FUNCTION s.a() RETURNS int LANGUAGE sql AS 'select 1'",
        "CREATE FUNCTION s.b(x int, y int DEFAULT 1, OUT z int) STABLE LANGUAGE sql AS ''",
        "CREATE FUNCTION c(VARIADIC xs int[]) RETURNS int IMMUTABLE LANGUAGE sql AS ''",
        "CREATE PROCEDURE s.p() LANGUAGE sql AS ''",
    ):
        node = _stmt(sql)
        assert isinstance(node, ast.CreateFunctionStmt)
        resolve.declare(declared, node)
    assert declared == {
        "s.a": [Signature("s", "a", 0, 0, "v")],
        "s.b": [Signature("s", "b", 1, 2, "s")],
        "public.c": [Signature("public", "c", 1, None, "i")],
    }
    assert resolve.judge(_expr("s.a()"), declared, frozenset()).volatile
    assert not resolve.judge(_expr("s.b(1)"), declared, frozenset()).volatile
    assert not resolve.judge(_expr("c(1, 2, 3)"), declared, frozenset()).volatile
    altered = _stmt("ALTER FUNCTION s.a() IMMUTABLE")
    assert isinstance(altered, ast.AlterFunctionStmt)
    resolve.alter(declared, altered)
    assert not resolve.judge(_expr("s.a()"), declared, frozenset()).volatile
    replaced = _stmt("CREATE OR REPLACE FUNCTION s.a() RETURNS int VOLATILE LANGUAGE sql AS ''")
    assert isinstance(replaced, ast.CreateFunctionStmt)
    resolve.declare(declared, replaced)
    assert declared["s.a"] == [Signature("s", "a", 0, 0, "v")]


def test_the_bundle_declaration_replaces_the_targets_and_pg_catalog_comes_first() -> None:
    target = frozenset({Signature("s", "f", 0, 0, "v"), _cat("now", "0", "s")})
    declared: resolve.Declared = {"s.f": [Signature("s", "f", 0, 0, "s")]}
    assert not resolve.judge(_expr("s.f()"), declared, target).volatile
    assert resolve.judge(_expr("s.f()"), {}, target).volatile
    shadow: resolve.Declared = {"public.now": [Signature("public", "now", 0, 0, "v")]}
    assert not resolve.judge(_expr("now()"), shadow, target).volatile
    assert resolve.judge(_expr("public.now()"), shadow, target).volatile

"""drift/kinds.py: every key and privilege text reads back as it was written."""

from __future__ import annotations

import pytest

from gordon_migrate.drift import fix, grants
from gordon_migrate.drift.kinds import (
    KINDS,
    NONE_FOR_ANYONE,
    DefaultPrivilegesKey,
    GrantKey,
    Privileges,
    drop_rank,
    format_default_privileges_key,
    format_grant_key,
    format_key,
    format_member_key,
    format_privileges,
    kind_of,
    parse_default_privileges_key,
    parse_grant_key,
    parse_key,
    parse_member_key,
    parse_privileges,
    split_grantee,
    split_last,
)

#: Names as ``%I``, ``regprocedure`` or ``pg_identify_object`` write them: quoted identifiers
#: holding spaces, dots, quotes, and words that are also kinds (or `` to ``).
NAMES = (
    "trading.fills",
    'trading."odd.table"',
    '"odd schema".t',
    'trading."say ""hi"" to me"',
    'trading."view s.v"',
    'trading."table"',
    "trading.risk_state_notify()",
    "trading.f(integer, timestamp with time zone)",
    'trading."my func"(text)',
    "trading.fills.fee",
    'trading."odd.table"."a b"',
    "<this database>",
    "operator 1 (integer, integer) of pg_catalog.integer_ops USING btree",
    "trading.fills in publication gordon_pub",
    "gordon_api on server remote",
)
GRANTEES = ("gordon_api", "PUBLIC", "<migrator>", "<database owner>", "role with spaces")


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name", NAMES)
def test_every_kind_reads_back_as_written(kind: str, name: str) -> None:
    assert parse_key(format_key(kind, name)) == (kind, name)


def test_a_key_is_its_kind_then_its_name() -> None:
    assert format_key("materialized view", "s.v") == "materialized view s.v"
    assert parse_key("materialized view s.v") == ("materialized view", "s.v")
    assert parse_key("domain constraint s.d.positive") == ("domain constraint", "s.d.positive")
    assert parse_key("domain s.d") == ("domain", "s.d")
    assert parse_key("foreign-data wrapper w") == ("foreign-data wrapper", "w")
    assert parse_key("text search configuration s.c") == ("text search configuration", "s.c")


def test_an_unknown_kind_is_the_first_word() -> None:
    # pg_identify_object's types drift-check has no table row for (a built-in made after
    # initdb): the fix note then names the first word.
    assert parse_key("table constraint c on s.t") == ("table", "constraint c on s.t")
    assert parse_key("composite type s.t") == ("composite", "type s.t")
    assert kind_of("composite").drop is None


@pytest.mark.parametrize(
    ("qualified", "parts"),
    [
        ("trading.fills.fee", ("trading.fills", "fee")),
        ('trading."odd.table"', ("trading", '"odd.table"')),
        ('trading.fills."say ""hi"""', ("trading.fills", '"say ""hi"""')),
        ('"odd.schema".t', ('"odd.schema"', "t")),
        ('"a ""b"".c"."d.e"', ('"a ""b"".c"', '"d.e"')),
    ],
)
def test_the_last_identifier_is_split_off_whole(qualified: str, parts: tuple[str, str]) -> None:
    assert split_last(qualified) == parts
    assert ".".join(parts) == qualified


@pytest.mark.parametrize("kind", [*sorted(KINDS), "column"])
@pytest.mark.parametrize("name", NAMES)
def test_grant_keys_read_back(kind: str, name: str) -> None:
    for grantee in GRANTEES:
        key = format_grant_key(kind, name, grantee)
        assert key == f"grant on {kind} {name} to {grantee}"
        found = parse_grant_key(key)
        assert found == GrantKey(kind, name, grantee)
        assert found is not None and found.target == format_key(kind, name)


def test_only_grant_keys_parse_as_grants() -> None:
    assert parse_grant_key("table trading.fills") is None
    assert parse_grant_key("grant on table trading.fills") is None  # no grantee
    assert split_grantee("default privileges of a in all schemas on types") == (
        "default privileges of a in all schemas on types",
        None,
    )


@pytest.mark.parametrize("schema", [None, "trading", '"odd schema"'])
@pytest.mark.parametrize("objects", sorted(grants.DEFAULT_ACL_OBJECTS.values()))
@pytest.mark.parametrize("grantee", [None, *GRANTEES])
def test_default_privileges_keys_read_back(
    schema: str | None, objects: str, grantee: str | None
) -> None:
    key = DefaultPrivilegesKey("<migrator>", schema, objects, grantee)
    text = format_default_privileges_key(key)
    assert text.startswith("default privileges of <migrator> in ")
    assert parse_default_privileges_key(text) == key
    assert parse_default_privileges_key(f"grant on table t to {grantee}") is None


def test_default_privileges_keys_read_as_the_fixtures_write_them() -> None:
    key = DefaultPrivilegesKey("<migrator>", None, "functions", "<migrator>")
    assert (
        format_default_privileges_key(key)
        == "default privileges of <migrator> in all schemas on functions to <migrator>"
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name", NAMES[:5])
def test_extension_member_keys_read_back(kind: str, name: str) -> None:
    key = format_member_key("plpgsql", kind, name)
    assert key == f"member of extension plpgsql: {kind} {name}"
    assert parse_member_key(key) == ("plpgsql", kind, name)


PRIVILEGES = [
    (Privileges(("ALL",)),),
    (Privileges(("INSERT", "SELECT")),),
    (Privileges(("SELECT",), grantable=True),),
    (Privileges(("SELECT",), grantor="gordon_x"),),
    (Privileges(("ALL", "MAINTAIN"), grantable=True, grantor="role with spaces"),),
    (Privileges(("DELETE", "SELECT")), Privileges(("UPDATE",), grantable=True)),
    (
        Privileges(("EXECUTE",)),
        Privileges(("USAGE",), grantor="a"),
        Privileges(("CREATE", "USAGE"), grantable=True, grantor="b"),
    ),
    (),
]


@pytest.mark.parametrize("parts", PRIVILEGES)
def test_privilege_text_reads_back(parts: tuple[Privileges, ...]) -> None:
    assert parse_privileges(format_privileges(parts)) == parts


def test_privilege_text_reads_as_the_fixtures_write_it() -> None:
    assert format_privileges(PRIVILEGES[5]) == "DELETE, SELECT; UPDATE WITH GRANT OPTION"
    assert format_privileges(PRIVILEGES[4]) == (
        "ALL, MAINTAIN WITH GRANT OPTION GRANTED BY role with spaces"
    )
    assert format_privileges(()) == NONE_FOR_ANYONE
    assert parse_privileges(None) == parse_privileges("") == ()


def test_grants_write_privilege_text_that_reads_back() -> None:
    rows = [
        grants.AclRow("r", "o", ("SELECT", "INSERT"), False),
        grants.AclRow("r", "x", ("UPDATE",), True),
    ]
    text = grants.privileges_text(rows, "o", table=True)
    assert text == "INSERT, SELECT; UPDATE WITH GRANT OPTION GRANTED BY x"
    assert parse_privileges(text) == (
        Privileges(("INSERT", "SELECT")),
        Privileges(("UPDATE",), grantable=True, grantor="x"),
    )
    every = [grants.AclRow("r", "o", tuple(grants.TABLE_ALL | {grants.MAINTAIN}), False)]
    assert grants.privileges_text(every, "o", table=True) == "ALL"


def test_the_kinds_table_says_what_the_fix_script_does() -> None:
    assert kind_of("window function").drop == "FUNCTION"
    assert kind_of("server").grant == "FOREIGN SERVER"
    assert kind_of("materialized view").grant == "TABLE"
    assert kind_of("foreign table").alter == "FOREIGN TABLE"
    assert kind_of("table").drop is None  # holds data
    # What uses an object is dropped before it; schemas last, unknown kinds after them all.
    assert drop_rank("trigger") < drop_rank("index") < drop_rank("view") < drop_rank("function")
    assert drop_rank("type") < drop_rank("schema") < drop_rank("table")
    assert fix.order(("schema s", "unexpected", fix.Fix("DROP SCHEMA s;"))) > fix.order(
        ("view s.v", "unexpected", fix.Fix("DROP VIEW s.v;"))
    )


def test_a_kinds_words_are_sql_words() -> None:
    for kind in KINDS.values():
        for words in (kind.grant, kind.drop, kind.alter):
            assert words is None or (words == words.upper() and "-" not in words), kind.name
        assert (kind.owns is None) or (kind.part_of is None), kind.name
        assert kind.owns is None or kind.relation or kind.name in ("type", "domain")


def test_parts_are_keyed_by_what_they_belong_to() -> None:
    # ``compare`` folds a part into its one-sided owner by the name split_last leaves: every
    # kind keyed as a part has an owner family, and only an index is a part keyed otherwise.
    for kind in KINDS.values():
        if kind.keyed == "part":
            assert kind.part_of is not None, kind.name
        elif kind.part_of is not None:
            assert kind.name == "index"
    owner, own = split_last('trading."odd.table"."a b"')
    assert (owner, own) == ('trading."odd.table"', '"a b"')

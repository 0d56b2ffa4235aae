"""Static NOTIFY channel extraction: what counts as a literal channel, and what cannot be known."""

from __future__ import annotations

import pytest

from gordon_migrate.sql import notify
from gordon_migrate.sql.notify import Site


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "BEGIN PERFORM pg_notify('a_chan', 'x'); END",
            [Site("a_chan", "pg_notify('a_chan', ...)")],
        ),
        (
            "SELECT pg_catalog.pg_notify('typed'::text, payload)",
            [Site("typed", "pg_notify('typed'::text, ...)")],
        ),
        ("BEGIN NOTIFY risk_ping; END", [Site("risk_ping", "NOTIFY risk_ping")]),
        ('BEGIN NOTIFY "MixedCase"; END', [Site("MixedCase", 'NOTIFY "MixedCase"')]),
        ("BEGIN EXECUTE 'NOTIFY dyn'; END", [Site("dyn", "NOTIFY dyn")]),
        ("BEGIN PERFORM pg_notify(v_chan, 'x'); END", [Site(None, "pg_notify(v_chan, ...)")]),
        (
            "BEGIN PERFORM pg_notify('a_' || TG_TABLE_NAME, 'x'); END",
            [Site(None, "pg_notify('a_' || TG_TABLE_NAME, ...)")],
        ),
        ("BEGIN EXECUTE format('NOTIFY %I', v); END", [Site(None, "NOTIFY %")]),
        (
            "BEGIN PERFORM pg_notify(TG_ARGV[0], 'x'); END",
            [Site(None, "pg_notify(TG_ARGV[0], ...)")],
        ),
        # Not NOTIFY sites: comments, messages, identifiers.
        ("BEGIN -- pg_notify('x', '')\n /* NOTIFY y; */ RETURN NEW; END", []),
        ("BEGIN RAISE NOTICE 'we notify people'; END", []),
        ("SELECT notify_at, notify FROM t", []),
    ],
)
def test_sites(body: str, expected: list[Site]) -> None:
    assert notify.sites(body) == expected


def test_ipc_notify_trigger_reads_its_channel_from_the_trigger_arguments() -> None:
    body = """
    DECLARE
        channel text := TG_ARGV[0];
        key jsonb := '{}';
    BEGIN
        IF channel <> ALL (ARRAY['gordon_orders']) THEN RAISE EXCEPTION 'no'; END IF;
        PERFORM pg_notify(channel, payload);
        PERFORM pg_notify(TG_ARGV[2]::text, payload);
        RETURN NULL;
    END"""
    sites = notify.sites(body, ipc_function=True)
    assert [(s.channel, s.argv_index) for s in sites] == [(None, 0), (None, 2)]


def test_ipc_notify_trigger_with_a_computed_channel_is_undetermined() -> None:
    sites = notify.sites("BEGIN PERFORM pg_notify(NEW.chan, ''); END", ipc_function=True)
    assert [(s.channel, s.argv_index) for s in sites] == [(None, None)]


def test_trigger_arguments() -> None:
    assert notify.trigger_arguments(b"gordon_fills\x00fill_id\x00", 2) == [
        "gordon_fills",
        "fill_id",
    ]
    assert notify.trigger_arguments(b"", 0) == []


def test_lexer_never_raises_on_unterminated_input() -> None:
    assert [s.code for s in notify.sites("BEGIN PERFORM pg_notify('unterminated")] == [
        "pg_notify('unterminated, ...)"
    ]
    assert notify.sites("$$ NOTIFY x") == [Site("x", "NOTIFY x")]  # read as a string
    assert notify.sites("/* NOTIFY x") == []

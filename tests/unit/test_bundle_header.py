"""A migration's header and file name, read by core.bundle (no server)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gordon_migrate.apply.options import ApplyOptions, settings_for
from gordon_migrate.core.bundle import MAX_VERSION, Migration, Waiver, draft_name, parse_name
from gordon_migrate.core.errors import BundleError, ConfigError

ROOT = Path("/bundle")


def migration(
    text: str, name: str = "0007_add_things.sql", *, raw: bytes | None = None
) -> Migration:
    version, description = parse_name(name, ROOT)
    return Migration(version, description, ROOT / name, raw if raw is not None else text.encode())


# -- the file name -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0001_schemas.sql", (1, "schemas")),
        ("0012_orders_client_id.sql", (12, "orders client id")),
        ("00042_add_the_thing.sql", (42, "add the thing")),
        (f"{MAX_VERSION}_last.sql", (MAX_VERSION, "last")),
        ("0003_v2.1_fix.sql", (3, "v2.1 fix")),
    ],
)
def test_a_file_name_gives_version_and_description(name: str, expected: tuple[int, str]) -> None:
    assert parse_name(name, ROOT) == expected


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("0001.sql", "expected NNNN_description.sql (forward-only)"),
        ("0001_.sql", "expected NNNN_description.sql (forward-only)"),
        ("0001_a.up.sql", "expected NNNN_description.sql (forward-only)"),
        ("0001_a.down.sql", "expected NNNN_description.sql (forward-only)"),
        ("0001_notes.txt", "expected NNNN_description.sql (forward-only)"),
        ("abc_a.sql", "the version 'abc' is not a number"),
        ("+0039_signed.sql", "the version '+0039' has a sign"),
        ("\uff10\uff10\uff13\uff19_fullwidth.sql", "is not written in ASCII digits 0-9"),
        ("0000_zero.sql", f"version 0000 is outside 1..{MAX_VERSION}"),
        (f"{MAX_VERSION + 1}_big.sql", "is outside"),
        ("9" * 200 + "_huge.sql", "is outside"),
        (os.fsdecode(b"0002_caf\xe9.sql"), "is not valid UTF-8"),
    ],
)
def test_a_malformed_file_name_is_refused_naming_the_folder(name: str, says: str) -> None:
    with pytest.raises(BundleError) as refused:
        parse_name(name, ROOT)
    assert says in str(refused.value)
    assert str(ROOT) in str(refused.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0039_new_index.sql", (39, "new index")),
        ("0041_a.up.sql", (41, "a.up")),
        ("\uff10\uff13_fullwidth.sql", (3, "fullwidth")),
        ("0000_zero.sql", (0, "zero")),
        ("+5_signed.sql", (0, "+5 signed")),
        ("draft_orders.sql", (0, "draft orders")),
        ("0040.sql", (0, "0040")),
    ],
)
def test_a_draft_outside_the_bundle_is_named_leniently(
    name: str, expected: tuple[int, str]
) -> None:
    assert draft_name(name) == expected


# -- -- no-transaction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n", True),
        ("-- no-transaction: the index is built concurrently\nSELECT 1;\n", True),
        ("SELECT 1;\n", False),
        ("-- a comment first\n-- no-transaction\nSELECT 1;\n", False),
        (" -- no-transaction\nSELECT 1;\n", False),
        ("-- No-Transaction\nSELECT 1;\n", False),
    ],
)
def test_no_transaction_is_the_first_line_exactly(text: str, expected: bool) -> None:
    assert migration(text).no_transaction is expected


def test_a_byte_order_mark_hides_the_no_transaction_marker() -> None:
    raw = b"\xef\xbb\xbf-- no-transaction\nSELECT 1;\n"
    assert migration("", raw=raw).no_transaction is False


# -- directives --------------------------------------------------------------------------------


def test_header_directives_are_read_in_milliseconds() -> None:
    m = migration(
        "-- a table nobody reads hot\n"
        "\n"
        "-- gordon:lock-timeout 2s\n"
        "--gordon:statement-timeout=15min\n"
        "-- gordon:allow drop-column the waiver is not a directive\n"
        "-- gordon:lock-retry-window 0\n"
        "ALTER TABLE t ADD COLUMN c text;\n"
        "-- gordon:lock-timeout 9s\n"
    )
    assert m.directives == {
        "lock-timeout": 2000,
        "statement-timeout": 900_000,
        "lock-retry-window": 0,
    }


def test_the_last_of_a_repeated_directive_wins() -> None:
    m = migration("-- gordon:lock-timeout 2s\n-- gordon:lock-timeout 300ms\nSELECT 1;\n")
    assert m.directives == {"lock-timeout": 300}


def test_a_migration_without_directives_keeps_the_run_settings() -> None:
    m = migration("-- just a comment\nSELECT 1;\n")
    opts = ApplyOptions(lock_timeout_ms=100, statement_timeout_ms=5000, lock_retry_window_ms=60)
    settings = settings_for(m, opts)
    assert m.directives == {}
    assert (settings.lock_timeout_ms, settings.statement_timeout_ms) == (100, 5000)
    assert settings.lock_retry_window_ms == 60
    assert settings.overridden is False


def test_directives_override_only_what_they_name() -> None:
    m = migration("-- gordon:lock-timeout 2s\nSELECT 1;\n")
    opts = ApplyOptions(lock_timeout_ms=100, statement_timeout_ms=5000, lock_retry_window_ms=60)
    settings = settings_for(m, opts)
    assert (settings.lock_timeout_ms, settings.statement_timeout_ms) == (2000, 5000)
    assert settings.lock_retry_window_ms == 60
    assert settings.overridden is True


def test_an_unknown_directive_is_refused_when_asked_for_not_when_read() -> None:
    m = migration("-- gordon:lock-timout 2s\nSELECT 1;\n", "0003_add_currency.sql")
    assert m.no_transaction is False  # the rest of the file is still readable: status, lint
    with pytest.raises(BundleError) as refused:
        settings_for(m, ApplyOptions())
    assert str(refused.value) == (
        "migration 0003 (0003_add_currency.sql): cannot read the header directive "
        "'-- gordon:lock-timout 2s'; known: gordon:lock-timeout, gordon:statement-timeout, "
        "gordon:lock-retry-window, gordon:lock-hold-budget, each followed by a duration "
        "(e.g. `-- gordon:lock-timeout 2s`). Nothing was run"
    )
    with pytest.raises(BundleError):  # asked again (the TUI's next apply): refused again
        settings_for(m, ApplyOptions())


def test_a_directive_without_a_duration_is_refused() -> None:
    m = migration("-- gordon:lock-timeout\nSELECT 1;\n")
    with pytest.raises(BundleError, match="header directive '-- gordon:lock-timeout'; known"):
        settings_for(m, ApplyOptions())


def test_a_directive_with_a_bad_duration_names_file_and_directive() -> None:
    m = migration("-- gordon:statement-timeout soon\nSELECT 1;\n")
    with pytest.raises(ConfigError) as refused:
        settings_for(m, ApplyOptions())
    assert str(refused.value) == (
        "0007_add_things.sql: gordon:statement-timeout: 'soon' is not a duration; "
        "use e.g. 200ms, 5s, 15min, 1h (0 disables)"
    )


# -- waivers -----------------------------------------------------------------------------------


def test_waivers_anywhere_in_the_file_with_rule_reason_and_place() -> None:
    m = migration(
        "-- gordon:allow drop-column unused since api 7.4\n"
        "ALTER TABLE t DROP COLUMN c;\n"
        "ALTER TABLE t DROP COLUMN d;  -- gordon:allow drop-column  read by nobody  \n"
        "-- gordon:allow\n"
        "--gordon:allow no-such-rule\r\n"
    )
    assert m.waivers == (
        Waiver(rule="drop-column", reason="unused since api 7.4", start=0, line=1, col=1),
        Waiver(rule="drop-column", reason="read by nobody", start=108, line=3, col=31),
        Waiver(rule="", reason="", start=154, line=4, col=1),
        Waiver(rule="no-such-rule", reason="", start=170, line=5, col=1),
    )
    assert m.parser_text[108:].startswith("-- gordon:allow drop-column")


def test_waiver_offsets_are_those_of_the_parser_text_of_a_file_with_a_bom() -> None:
    m = migration("", raw=b"\xef\xbb\xbf-- gordon:allow drop-column why\x00not\nSELECT 1;\n")
    assert m.parser_text.startswith("-- gordon:allow")
    assert m.waivers == (Waiver(rule="drop-column", reason="why not", start=0, line=1, col=1),)


def test_a_file_without_waivers_has_none() -> None:
    assert migration("-- gordon:lock-timeout 2s\nSELECT 1;\n").waivers == ()

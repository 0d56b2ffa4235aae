"""The migration files themselves: names, numbering, bytes, and the rules a patch must follow."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "migrations"
NAME = re.compile(r"^(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$")
NO_TRANSACTION = "-- no-transaction"

# The nine domain files of the card, in order, then the patches the card names.
DOMAIN_FILES = [
    "0001_schemas.sql",
    "0002_market_data_tables.sql",
    "0003_trading_core.sql",
    "0004_trading_orders.sql",
    "0005_trading_bots.sql",
    "0006_trading_risk.sql",
    "0007_ipc_channels.sql",
    "0008_roles_and_grants.sql",
    "0009_market_data_reader_views.sql",
]
NAMED_PATCHES = [
    "0017_bus_outbox.sql",
    "0025_bus_outbox_delivery_attempts.sql",
    "0036_daily_notional_caps.sql",
    "0037_audit_event_flatten_crashed_during.sql",
    "0038_runs_strategy_code_revision.sql",
]


def migration_files() -> list[Path]:
    return sorted(p for p in MIGRATIONS.iterdir() if p.is_file())


def test_exactly_38_migrations_numbered_1_to_38_without_gaps() -> None:
    files = migration_files()
    names = [p.name for p in files]
    assert len(files) == 38, names
    for name in names:
        assert NAME.match(name), f"{name}: expected NNNN_lowercase_snake_case.sql"
    assert [int(n[:4]) for n in names] == list(range(1, 39))


def test_domain_files_and_named_patches_are_where_the_card_says() -> None:
    names = {p.name for p in migration_files()}
    for name in DOMAIN_FILES + NAMED_PATCHES:
        assert name in names


@pytest.mark.parametrize("path", migration_files(), ids=lambda p: p.name)
def test_file_is_utf8_with_lf_line_endings(path: Path) -> None:
    data = path.read_bytes()
    data.decode("utf-8")
    assert b"\r" not in data, f"{path.name} has CR bytes: the checksum is over the exact bytes"
    assert data.endswith(b"\n")
    assert not data.startswith(b"\xef\xbb\xbf"), "no byte-order mark"


@pytest.mark.parametrize("path", migration_files(), ids=lambda p: p.name)
def test_no_password_and_no_transaction_control(path: Path) -> None:
    sql = strip_comments(path.read_text("utf-8")).upper()
    assert "PASSWORD" not in sql, "passwords are provisioned out of band, never in a migration"
    # The engine owns the transaction of every migration (and writes its history row in it).
    for statement in ("BEGIN;", "COMMIT;", "ROLLBACK;", "START TRANSACTION"):
        assert statement not in sql.replace(" ;", ";")


@pytest.mark.parametrize("path", migration_files(), ids=lambda p: p.name)
def test_concurrent_index_builds_only_in_no_transaction_files(path: Path) -> None:
    text = path.read_text("utf-8")
    concurrently = "CONCURRENTLY" in strip_comments(text).upper()
    no_transaction = text.startswith(NO_TRANSACTION + "\n")
    assert concurrently == no_transaction, (
        f"{path.name}: CREATE INDEX CONCURRENTLY needs a first line exactly {NO_TRANSACTION!r}, "
        "and only such statements belong in a no-transaction migration"
    )


def test_at_least_one_no_transaction_migration() -> None:
    assert any(p.read_text("utf-8").startswith(NO_TRANSACTION + "\n") for p in migration_files())


def test_gitattributes_keeps_migrations_and_fixtures_byte_exact() -> None:
    lines = (ROOT / ".gitattributes").read_text("utf-8").splitlines()
    assert "migrations/** -text" in lines
    assert "fixtures/** -text" in lines
    probe = subprocess.run(
        ["git", "check-attr", "text", "--", "migrations/0001_schemas.sql", "fixtures/x.txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip("not a git checkout")
    assert probe.stdout.splitlines() == [
        "migrations/0001_schemas.sql: text: unset",
        "fixtures/x.txt: text: unset",
    ]


def strip_comments(sql: str) -> str:
    """SQL without ``--`` comments (no migration has ``--`` inside a string literal)."""
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())

"""Settings resolve every variable of the environment: flag, else variable, else default.

No server: a DSN is parsed, never connected to; the environment is the process's, set with
monkeypatch (or given to ``Settings`` as a mapping)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from gordon_migrate.core import settings
from gordon_migrate.core.errors import BundleError, ConfigError
from gordon_migrate.core.settings import Settings

PACKAGE = Path(settings.__file__).resolve().parents[1]
URL_FLAG = "postgresql://flag@db:5432/gordon"
URL_ENV = "postgresql://env@db:5432/gordon"


@pytest.fixture(autouse=True)
def _bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in settings.ENVIRONMENT:
        if not var.name.endswith("*"):
            monkeypatch.delenv(var.name, raising=False)


def test_the_flag_wins_over_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", URL_ENV)
    assert settings.resolve_dsn(Settings(database_url=URL_FLAG)).value == URL_FLAG
    assert settings.resolve_dsn(Settings()).value == URL_ENV
    assert settings.database_url(Settings()) == URL_ENV


def test_no_database_is_an_error_never_a_guess() -> None:
    with pytest.raises(ConfigError) as raised:
        settings.resolve_dsn(Settings())
    assert str(raised.value) == (
        "no database given: pass --database-url URL or set DATABASE_URL "
        "(e.g. postgresql://gordon_migrator@db:5432/gordon), or use --embedded "
        "for a local embedded Postgres"
    )
    assert raised.value.failure_mode == "FM-01"


def test_embedded_and_a_database_url_exclude_each_other() -> None:
    with pytest.raises(ConfigError, match=r"^--embedded and --database-url exclude each other"):
        settings.resolve_dsn(Settings(database_url=URL_FLAG, embedded=True))


def test_flag_only_commands_never_read_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", URL_ENV)
    assert settings.flag_url(Settings()) is None
    assert settings.flag_url(Settings(database_url=URL_FLAG)) == URL_FLAG


def test_network_timeout_flag_then_variable_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.network_timeout_s(Settings()) is None
    assert settings.resolve_dsn(Settings(database_url=URL_FLAG)).network_timeout_s == 30.0
    monkeypatch.setenv("GORDON_NETWORK_TIMEOUT", "5s")
    assert settings.network_timeout_s(Settings()) == 5.0
    assert settings.resolve_dsn(Settings(database_url=URL_FLAG)).network_timeout_s == 5.0
    assert settings.network_timeout_s(Settings(network_timeout_ms=200)) == 0.2
    monkeypatch.setenv("GORDON_NETWORK_TIMEOUT", "  ")
    assert settings.network_timeout_s(Settings()) is None


def test_a_bad_network_timeout_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GORDON_NETWORK_TIMEOUT", "soon")
    with pytest.raises(ConfigError) as raised:
        settings.resolve_dsn(Settings(database_url=URL_FLAG))
    assert str(raised.value) == (
        "GORDON_NETWORK_TIMEOUT: 'soon' is not a duration; use e.g. 200ms, 5s, 15min, 1h "
        "(0 disables)"
    )
    # The flag wins: the variable is not even read.
    assert settings.network_timeout_s(Settings(network_timeout_ms=1000)) == 1.0


@pytest.mark.parametrize(
    ("flag", "env", "level"),
    [
        (None, {}, "info"),
        (None, {"RUST_LOG": "debug"}, "debug"),
        (None, {"RUST_LOG": "sqlx=warn,gordon_migrate=trace"}, "debug"),
        (None, {"RUST_LOG": "sqlx=debug"}, "info"),
        (None, {"RUST_LOG": "off"}, "error"),
        (None, {"LOG_LEVEL": "warning", "RUST_LOG": "debug"}, "warning"),
        ("error", {"LOG_LEVEL": "warning", "RUST_LOG": "debug"}, "error"),
    ],
)
def test_log_level_flag_then_log_level_then_rust_log_then_info(
    monkeypatch: pytest.MonkeyPatch, flag: str | None, env: dict[str, str], level: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert settings.log_level(Settings(log_level=flag)) == level


def test_embedded_directory_and_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert settings.embedded_dir(Settings()) == Path(".gordon") / "pg"
    assert settings.embedded_version(Settings()) == 18
    monkeypatch.setenv("GORDON_EMBEDDED_DIR", str(tmp_path))
    monkeypatch.setenv("GORDON_EMBEDDED_PG", "16")
    assert settings.embedded_dir(Settings()) == tmp_path
    assert settings.embedded_version(Settings()) == 16


def test_the_cache_is_the_users_unless_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert settings.cache_dir(Settings()) == Path.home() / ".cache" / "gordon-migrate"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert settings.cache_dir(Settings()) == tmp_path / "xdg" / "gordon-migrate"
    monkeypatch.setenv("GORDON_CACHE_DIR", str(tmp_path / "mine"))
    assert settings.cache_dir(Settings()) == tmp_path / "mine"


def test_a_scratch_is_on_the_ram_disk_unless_tmpdir_or_disk_is_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The RAM disk only with 1 GiB free: a container's 64 MB /dev/shm is not enough."""
    monkeypatch.setattr(settings, "RAM_DISK", tmp_path)
    monkeypatch.setattr(settings, "RAM_DISK_FREE", 1)
    assert settings.scratch_parent(Settings()) == tmp_path
    assert settings.scratch_parent(Settings(), disk=True) is None
    monkeypatch.setattr(settings, "RAM_DISK_FREE", 1 << 62)
    assert settings.scratch_parent(Settings()) is None
    monkeypatch.setattr(settings, "RAM_DISK", tmp_path / "missing")
    assert settings.scratch_parent(Settings()) is None
    monkeypatch.setenv("TMPDIR", str(tmp_path / "mine"))
    assert settings.scratch_parent(Settings()) == tmp_path / "mine"
    assert settings.scratch_parent(Settings(), disk=True) == tmp_path / "mine"


@pytest.mark.parametrize("value", ["17", "eighteen", ""])
def test_a_bad_embedded_version_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("GORDON_EMBEDDED_PG", value)
    with pytest.raises(ConfigError) as raised:
        settings.embedded_version(Settings())
    assert str(raised.value) == f"GORDON_EMBEDDED_PG={value!r}: the embedded Postgres is 18 or 16"


@pytest.mark.parametrize(
    ("value", "ci"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("false", False),
        (" No ", False),
        ("1", True),
        ("true", True),
        ("yes", True),
        ("woodpecker", True),
    ],
)
def test_ci(monkeypatch: pytest.MonkeyPatch, value: str | None, ci: bool) -> None:
    if value is not None:
        monkeypatch.setenv("CI", value)
    assert settings.in_ci(Settings()) is ci


def test_observe_gets_the_otel_variables_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("DATABASE_URL", URL_ENV)
    found = settings.otel_environment(Settings())
    assert found["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4318"
    assert all(name.startswith("OTEL_") for name in found)


def test_a_given_environment_replaces_the_process_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", URL_ENV)
    assert settings.database_url(Settings(environ={})) is None
    assert settings.database_url(Settings(environ={"DATABASE_URL": URL_FLAG})) == URL_FLAG


def test_the_target_keeps_what_could_not_be_resolved(tmp_path: Path) -> None:
    for name in ("0001_a.sql", "0001_b.sql"):
        (tmp_path / name).write_text("SELECT 1;\n")
    run = settings.resolve_target(Settings(migrations_dir=tmp_path), fixtures_dir=tmp_path)
    assert run.dsn is None and run.bundle is None and run.fixtures_dir == tmp_path
    assert isinstance(run.dsn_error, ConfigError) and run.dsn_error.failure_mode == "FM-01"
    assert isinstance(run.bundle_error, BundleError)
    with pytest.raises(ConfigError, match=r"^no database given"):
        run.required_dsn()
    with pytest.raises(BundleError, match=r"^duplicate migration version 1"):
        run.required_bundle()


def test_the_target_resolves_both(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;\n")
    run = settings.resolve_target(Settings(database_url=URL_FLAG, migrations_dir=tmp_path))
    assert run.required_dsn().value == URL_FLAG
    assert [m.version for m in run.required_bundle()] == [1]
    assert run.dsn_error is None and run.bundle_error is None


#: For each variable of the table: what it changes, read back through settings.
RESOLVED: dict[str, tuple[str, Callable[[Settings], object]]] = {
    "DATABASE_URL": (URL_ENV, settings.database_url),
    "GORDON_NETWORK_TIMEOUT": ("7s", settings.network_timeout_s),
    "LOG_LEVEL": ("debug", settings.log_level),
    "RUST_LOG": ("warn", settings.log_level),
    "GORDON_EMBEDDED_DIR": ("/elsewhere", settings.embedded_dir),
    "GORDON_EMBEDDED_PG": ("16", settings.embedded_version),
    "GORDON_CACHE_DIR": ("/elsewhere/cache", settings.cache_dir),
    "XDG_CACHE_HOME": ("/elsewhere/xdg", settings.cache_dir),
    "TMPDIR": ("/elsewhere/tmp", settings.scratch_parent),
    "GORDON_SCRATCH_URL": ("postgresql://scratch/", lambda s: settings.scratch_url(s, None)),
    "CI": ("true", settings.in_ci),
    "OTEL_*": ("http://collector:4318", settings.otel_environment),
}


@pytest.mark.parametrize("var", settings.ENVIRONMENT, ids=lambda v: v.name)
def test_every_variable_of_the_table_is_resolved_here(
    monkeypatch: pytest.MonkeyPatch, var: settings.EnvVar
) -> None:
    value, resolve = RESOLVED[var.name]
    before = resolve(Settings())
    name = "OTEL_EXPORTER_OTLP_ENDPOINT" if var.name == "OTEL_*" else var.name
    monkeypatch.setenv(name, value)
    assert resolve(Settings()) != before
    assert var.sets and var.default


def test_the_table_names_every_variable_resolved() -> None:
    assert set(RESOLVED) == {v.name for v in settings.ENVIRONMENT}


def test_no_other_module_reads_the_environment() -> None:
    """Besides settings: libpq's PG* (read in dsn only to redact them) and the pytest
    plugin's GORDON_TEST_* (core/settings.py says why)."""
    readers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if re.search(r"os\.environ|getenv|environ\[", path.read_text(encoding="utf-8"))
    }
    assert readers == {"core/settings.py", "core/dsn.py", "testing.py"}
    dsn_reads = re.findall(
        r"os\.environ(?:\.get\(|\[)\"(\w+)\"", (PACKAGE / "core/dsn.py").read_text()
    )
    assert dsn_reads and all(name.startswith("PG") for name in dsn_reads)
    for var in settings.ENVIRONMENT:
        if var.name.endswith("*"):
            continue
        quoted = {
            path.relative_to(PACKAGE).as_posix()
            for path in PACKAGE.rglob("*.py")
            if f'"{var.name}"' in path.read_text(encoding="utf-8")
        }
        assert quoted == {"core/settings.py"}, var.name

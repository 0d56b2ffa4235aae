"""No secret ever printed (issue 10, item 1): every form a password can take, through every
command, log format and output format, the metrics file included.

Forms libpq cannot read unambiguously are refused as configuration errors (FM-02) before any
connection; the others connect (the embedded server trusts its socket, so a password is
accepted and ignored) or fail to, on a database that does not exist. Either way the output is
searched for every fragment of the secret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo

from gordon_migrate.core import dsn
from gordon_migrate.core.errors import ConfigError
from gordon_migrate.testing import GordonDatabase
from tests.support.cli import run_process


def fragments(secret: str) -> set[str]:
    """Every alphanumeric run of 3+ characters, and every 5-character window."""
    parts = {p for p in re.split(r"[^A-Za-z0-9]+", secret) if len(p) >= 3}
    return parts | {secret[i : i + 5] for i in range(len(secret) - 4)}


@dataclass(frozen=True)
class Where:
    """The test database's socket directory, port and name (or a missing database)."""

    host: str
    port: str
    dbname: str


@dataclass(frozen=True)
class Form:
    name: str
    secrets: tuple[str, ...]
    #: The DSN, and extra environment, for a database.
    build: Callable[[Where, Path], tuple[str, dict[str, str]]]
    #: Refused before any connection (FM-02).
    refused: bool


def _kv(where: Where, **extra: str) -> str:
    return conninfo.make_conninfo(
        "", host=where.host, port=where.port, dbname=where.dbname, user="postgres", **extra
    )


def _service(where: Where, tmp: Path) -> tuple[str, dict[str, str]]:
    path = tmp / "pg_service.conf"
    path.write_text(
        f"[gordonsvc]\nhost={where.host}\nport={where.port}\ndbname={where.dbname}\n"
        "user=postgres\npassword=Svc9Secr3tPw\n"
    )
    return "service=gordonsvc", {"PGSERVICEFILE": str(path)}


FORMS = [
    Form(
        "url-unescaped-at",
        ("opsXq7z", "p@ss/w0rd#S3cret"),
        lambda w, _t: ("postgresql://opsXq7z:p@ss/w0rd#S3cret@db:5432/gordon", {}),
        True,
    ),
    Form(
        "url-unescaped-slash",
        ("opsXq7z", "pa/ssw0rdX9"),
        lambda w, _t: ("postgresql://opsXq7z:pa/ssw0rdX9@db:5432/gordon", {}),
        True,
    ),
    Form(
        "url-unescaped-hash",
        ("opsXq7z", "hash#Pw0rd9"),
        lambda w, _t: ("postgresql://opsXq7z:hash#Pw0rd9@db:5432/gordon", {}),
        True,
    ),
    Form(
        "kv-unquoted-space",
        ("tw0 w0rdz9",),
        lambda w, _t: (_kv(w) + " password=tw0 w0rdz9", {}),
        True,
    ),
    Form(
        "url-query-password",
        ("Qu3ry@Pw/9",),
        lambda w, _t: (
            f"postgresql://postgres@/{w.dbname}?host={w.host}&port={w.port}"
            "&password=Qu3ry%40Pw%2F9",
            {},
        ),
        False,
    ),
    Form(
        "kv-quoted-space",
        ("sp4ce pa55word",),
        lambda w, _t: (_kv(w, password="sp4ce pa55word"), {}),
        False,
    ),
    Form(
        "pgpassword",
        ("Env9Secr3tPw",),
        lambda w, _t: (_kv(w), {"PGPASSWORD": "Env9Secr3tPw"}),
        False,
    ),
    Form("service-file", ("Svc9Secr3tPw",), _service, False),
]

# (name, arguments, supports --format json)
COMMANDS = [
    ("apply", ["apply"], True),
    ("status", ["status"], True),
    ("drift-check", ["drift-check"], True),
    ("grants", ["grants"], True),
    ("diagnose", ["diagnose"], True),
    ("repair", ["repair", "38", "--done", "--yes"], True),
    ("unlock", ["unlock", "--yes"], True),
    ("tui", ["tui"], False),
]

# A connection failure is rendered by one function (db.connect_error): four commands suffice.
MISSING_DB_COMMANDS = {"apply", "drift-check", "diagnose", "repair"}
CASES = [
    pytest.param(
        form, command, missing, id=f"{form.name}-{command[0]}{'-missing-db' if missing else ''}"
    )
    for form in FORMS
    for command in COMMANDS
    for missing in ((False,) if form.refused else (False, True))
    # The TUI is interactive once it starts: only its start-up failure is run here.
    if (command[0] != "tui" or form.refused) and (not missing or command[0] in MISSING_DB_COMMANDS)
]


@pytest.mark.parametrize(("form", "command", "missing"), CASES)
def test_no_secret_in_any_output(
    form: Form,
    command: tuple[str, list[str], bool],
    missing: bool,
    gordon_db: GordonDatabase,
    tmp_path: Path,
) -> None:
    params = conninfo.conninfo_to_dict(gordon_db.dsn)
    where = Where(
        host=str(params["host"]),
        port=str(params.get("port") or "5432"),
        dbname="no_such_gordon_db" if missing else gordon_db.name,
    )
    with gordon_db.connect() as conn:  # something for repair to plan and carry out
        conn.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 38")
    value, env = form.build(where, tmp_path)
    name, args, has_json = command
    metrics = tmp_path / "drift.prom"
    outputs = []
    # Every run at debug (tracebacks included); JSON logs with JSON results, then console logs.
    variants = [["--log-format", "json", *(["--format", "json"] if has_json else [])]]
    variants.append(["--log-format", "console"])
    for variant in variants:
        extra = ["--metrics-file", str(metrics)] if name == "drift-check" else []
        done = run_process(
            *args, *extra, *variant, "--log-level", "debug", "--database-url", value, env=env
        )
        outputs.append(done.stdout + done.stderr)
        if form.refused or missing:
            assert done.returncode == 1, done.stdout + done.stderr
        if form.refused:
            assert "malformed database URL" in done.stdout + done.stderr
            if "json" in variant and name != "diagnose":
                assert json.loads(done.stderr.splitlines()[-1])["kind"] == "config"
        if name == "drift-check":
            outputs.append(metrics.read_text())
    text = "\n".join(outputs)
    for secret in form.secrets:
        for fragment in fragments(secret):
            assert fragment not in text, f"{fragment!r} of a secret printed:\n{text}"


@pytest.mark.parametrize("form", [f for f in FORMS if f.refused], ids=lambda f: f.name)
def test_diagnose_classifies_an_ambiguous_dsn_as_fm02(form: Form, tmp_path: Path) -> None:
    value, env = form.build(Where("db", "5432", "gordon"), tmp_path)
    done = run_process("diagnose", "--format", "json", "--database-url", value, env=env)
    assert done.returncode == 1
    payload = json.loads(done.stdout)
    assert payload["failure_modes"] == ["FM-02"], payload
    config = next(s for s in payload["steps"] if s["probe"] == "config")
    assert config["status"] == "problem"
    assert config["summary"].startswith("malformed database URL")
    connect = next(s for s in payload["steps"] if s["probe"] == "connect")
    assert connect["status"] == "not_run"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("postgresql://u:p@ss@db:5432/g", "'postgresql://***@db:5432/g'"),
        ("postgresql://u:pa/ss@db/g", "'postgresql://***@db/g'"),
        ("postgresql://u:pa?ss@db/g", "'postgresql://***@db/g'"),
        ("postgresql://u:pa#ss@db/g", "'postgresql://***@db/g'"),
        ("postgresql://u:secretpw/g", ""),
        ("host=db password=tw0 w0rdz9", "(not shown: it may hold a password)"),
        ("host=db password='unterminated", "(not shown: it may hold a password)"),
    ],
)
def test_ambiguous_forms_are_refused_without_their_userinfo(value: str, shown: str) -> None:
    with pytest.raises(ConfigError) as refused:
        dsn.parse(value)
    message = str(refused.value)
    assert message.startswith("malformed database URL")
    assert shown in message
    for secret in ("p@ss", "pa/ss", "pa?ss", "pa#ss", "secretpw", "w0rdz9", "unterminated", "u:"):
        if secret in value:
            assert secret not in message


def test_unambiguous_forms_are_accepted_and_redacted() -> None:
    assert dsn.parse("postgresql://u:pa%40ss@db:5432/g").redacted == "postgresql://u:***@db:5432/g"
    assert (
        dsn.parse("postgresql://u@db/g?sslmode=require&password=x%26y").redacted
        == "postgresql://u@db/g?sslmode=require&password=***"
    )
    assert "pa55" not in dsn.parse("host=db user=u password='a pa55 word'").redacted


@pytest.mark.parametrize("value", ["host=db port=abc dbname=g", "postgresql://u:pw@db:abc/g"])
def test_a_bad_port_is_a_configuration_error_naming_it(value: str) -> None:
    done = run_process("apply", "--log-format", "json", "--database-url", value)
    assert done.returncode == 1
    last = json.loads(done.stderr.splitlines()[-1])
    assert last["kind"] == "config"
    assert "port 'abc' is not a number from 1 to 65535" in last["event"]


def test_free_text_scrub_fails_closed() -> None:
    text = dsn.scrub(
        "a postgresql://u:p@ss/w0rd#S3cret@db:5432/g b host=db password=two w0rds9 user=u\n"
    )
    assert "w0rd" not in text and "S3cret" not in text and "w0rds9" not in text
    assert "user=u" in text
    # No '@': libpq reads host "u" and port "N0tAP0rt" (the password): masked too.
    assert dsn.scrub("postgresql://u:N0tAP0rt/g") == "postgresql://***/g"
    assert dsn.scrub("postgresql://db:5432,[::1]:5433/g") == "postgresql://db:5432,[::1]:5433/g"


def test_a_live_secret_never_reaches_a_log_line(gordon_db: GordonDatabase) -> None:
    """The DSN's password is scrubbed from server messages that quote it (a failed query)."""
    value = conninfo.make_conninfo(gordon_db.dsn, password="L1ve9Secret")
    target = dsn.parse(value)
    with psycopg.connect(gordon_db.dsn) as conn, pytest.raises(psycopg.Error) as failed:
        conn.execute("SELECT 'L1ve9Secret'::int")
    assert "L1ve9Secret" in str(failed.value)
    assert "L1ve9Secret" not in target.scrub(str(failed.value))


def test_tui_header_shows_the_dsn_redacted(gordon_db: GordonDatabase) -> None:
    from textual.pilot import Pilot

    from gordon_migrate.core import bundle
    from gordon_migrate.tui.app import GordonApp
    from gordon_migrate.tui.screens.overview import OverviewScreen
    from tests.support.tui import drive, loaded

    value = conninfo.make_conninfo(gordon_db.dsn, password="tu1 Secr3t")
    app = GordonApp(dsn.parse(value), bundle.load())

    async def scenario(app: GordonApp, pilot: Pilot[int]) -> None:
        data = await loaded(pilot, OverviewScreen)
        assert "password=***" in data.target
        await pilot.pause()
        screen = re.sub(r"<[^>]+>", "", app.export_screenshot()).replace("&#160;", " ")
        assert "password=*** dbname=" in screen
        for fragment in fragments("tu1 Secr3t"):
            assert fragment not in screen

    drive(app, scenario, size=(160, 45))

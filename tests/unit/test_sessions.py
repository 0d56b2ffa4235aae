"""The one session model without a server: how a session and a lock holder are described, the
log fields and query text they carry, and the SQL loaded by name."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gordon_migrate.core import queries
from gordon_migrate.core.sessions import Holder, Session

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
CONNECTED = NOW - timedelta(hours=2)
BEGUN = NOW - timedelta(seconds=49.4)


def _session(*, visible: bool = True, **changes: Any) -> Session:
    if visible:
        seen = Session(
            pid=42,
            application_name="gordon_trading app",
            username="u",
            client="10.0.0.7",
            backend_start=CONNECTED,
            xact_start=BEGUN,
            state="idle in transaction",
            state_change=BEGUN,
            wait="Client:ClientRead",
            query="SELECT count(*)\n  FROM trading.fills",
            observed_at=NOW,
        )
    else:  # what pg_stat_activity leaves a role without pg_read_all_stats
        seen = Session(
            pid=42,
            application_name="gordon_trading app",
            username="u",
            client="",
            backend_start=None,
            xact_start=None,
            state="",
            state_change=None,
            wait="",
            query="",
            observed_at=NOW,
            visible=False,
        )
    return replace(seen, **changes)


def _holder(*, visible: bool = True, granted: bool = True, **changes: Any) -> Holder:
    seen = asdict(_session(visible=visible, **changes))
    return Holder(**seen, relation="trading.fills", mode="AccessShareLock", granted=granted)


def test_a_session_is_described_by_who_it_is() -> None:
    assert _session().describe() == (
        "pid 42 (gordon_trading app, user u, from 10.0.0.7, connected since "
        "2026-12-06T10:00:00+00:00)"
    )
    assert _session(application_name="", username="").describe() == (
        "pid 42 (no application_name, user ?, from 10.0.0.7, connected since "
        "2026-12-06T10:00:00+00:00)"
    )
    assert (
        _session(visible=False).describe() == "pid 42 (gordon_trading app, user u; client hidden)"
    )


def test_a_lock_holder_in_an_error_line_adds_its_state() -> None:
    assert _session().describe(with_state=True) == (
        "pid 42 (gordon_trading app, user u, from 10.0.0.7, connected since "
        "2026-12-06T10:00:00+00:00, idle in transaction)"
    )
    assert _session(visible=False).describe(with_state=True) == (
        "pid 42 (gordon_trading app, user u; its client, start and state are hidden from this "
        "role: membership in pg_read_all_stats shows them)"
    )


def test_a_holder_names_the_lock_it_holds() -> None:
    assert _holder().describe() == (
        "pid 42 (gordon_trading app, user u, from 10.0.0.7, idle in transaction, in a "
        "transaction since 2026-12-06T11:59:10+00:00) holding AccessShareLock on trading.fills"
    )
    assert _holder(xact_start=None).describe() == (
        "pid 42 (gordon_trading app, user u, from 10.0.0.7, idle in transaction) "
        "holding AccessShareLock on trading.fills"
    )
    assert _holder(visible=False).describe() == (
        "pid 42 (gordon_trading app, user u; state hidden: the migration role needs "
        "pg_read_all_stats to see it) holding AccessShareLock on trading.fills"
    )


def test_a_lock_plan_holder_is_described_briefly() -> None:
    assert _holder().describe(brief=True) == (
        "pid 42 (gordon_trading app, idle in transaction, transaction open 49s) holds "
        "AccessShareLock on trading.fills"
    )
    hidden = _holder(visible=False, application_name="", granted=False)
    assert hidden.describe(brief=True) == (
        "pid 42 (no application_name, state hidden) waits for AccessShareLock on trading.fills"
    )
    assert hidden.describe(brief=True, unknown="?") == (
        "pid 42 (?, ?) waits for AccessShareLock on trading.fills"
    )
    assert _holder().describe(brief=True, unknown="?", with_age=False) == (
        "pid 42 (gordon_trading app, idle in transaction) holds AccessShareLock on trading.fills"
    )


def test_holder_fields_and_age() -> None:
    assert _holder().xact_age_s == pytest.approx(49.4)
    assert _holder(visible=False).xact_age_s is None
    assert _holder().fields() == {
        "pid": 42,
        "application": "gordon_trading app",
        "user": "u",
        "client": "10.0.0.7",
        "state": "idle in transaction",
        "xact_start": "2026-12-06T11:59:10.600000+00:00",
        "relation": "trading.fills",
        "mode": "AccessShareLock",
    }
    hidden = _holder(visible=False).fields()
    assert (hidden["client"], hidden["state"], hidden["xact_start"]) == (None, None, None)


def test_the_query_shown_is_one_line_redacted_and_bounded() -> None:
    assert _session().short_query == "SELECT count(*) FROM trading.fills"
    secret = _holder(query="ALTER ROLE app\n  PASSWORD 's3cret-pw'")
    assert secret.short_query == "ALTER ROLE app PASSWORD '***'"
    long = _session(query="SELECT " + "x, " * 100 + "1").short_query
    assert len(long) == 200 and long.endswith("...")


def test_every_query_loads_by_name() -> None:
    assert queries.names() == [
        "advisory_holder",
        "blockers",
        "lock_holders",
        "relation_holders",
        "session",
        "waited_for",
    ]
    for name in queries.names():
        text = queries.load(name)
        assert "SELECT" in text and "pg_locks" in text, name
        assert queries.load(name) is text  # read once


@pytest.mark.parametrize("name", ["no_such_query", "../queries/session", "session.sql", ""])
def test_an_unknown_query_name_raises(name: str) -> None:
    with pytest.raises(LookupError, match="no query named"):
        queries.load(name)


@pytest.mark.parametrize(
    ("base", "users"),
    [
        ("_sessions", ["advisory_holder", "blockers", "session"]),
        ("_holders", ["lock_holders", "relation_holders", "waited_for"]),
    ],
)
def test_each_shape_is_written_once_and_included(base: str, users: list[str]) -> None:
    """session, blockers and advisory_holder differ only in which sessions they keep; the
    holder queries only in which locks: each selects from its base, expanded by load."""
    here = Path(queries.__file__).parent
    body = (here / f"{base}.sql").read_text(encoding="utf-8")
    for name in users:
        raw = (here / f"{name}.sql").read_text(encoding="utf-8")
        assert raw.count(f"-- include: {base}\n") == 1 and "pg_stat_activity" not in raw, name
        text = queries.load(name)
        assert "\n-- include:" not in text and body.rstrip("\n") in text, name
    with pytest.raises(LookupError, match="no query named"):
        queries.load(base)  # a base is not a query
    assert base not in queries.names()


def test_an_include_of_an_unknown_base_raises() -> None:
    with pytest.raises(LookupError, match="no base named 'session'"):
        queries._base("session")


def test_the_lock_plan_renders_its_holders_with_the_same_keys() -> None:
    from gordon_migrate.lint.model import LockPlan, MigrationPlan
    from gordon_migrate.lint.render import plan_json, plan_text

    plan = LockPlan(
        migrations=[MigrationPlan(file="0039_x.sql", no_transaction=False)],
        holders=[_holder(query="ALTER ROLE app PASSWORD 's3cret-pw'"), _holder(visible=False)],
        live=True,
    )
    shown = plan_json(plan)["holders"]
    assert [list(h) for h in shown] == [
        ["pid", "relation", "mode", "granted", "application", "state", "xact_age_s", "query"]
    ] * 2
    assert shown[0]["query"] == "ALTER ROLE app PASSWORD '***'"
    assert shown[1]["application"] == "gordon_trading app" and shown[1]["xact_age_s"] is None
    text = plan_text(plan)
    assert (
        "  pid 42 (gordon_trading app, idle in transaction, transaction open 49s) holds "
        "AccessShareLock on trading.fills: ALTER ROLE app PASSWORD '***'"
    ) in text
    assert "s3cret" not in text

"""NOTIFY: small JSON payloads on allowlisted channels, from real inserts by the real roles."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from gordon_migrate.testing import GordonDatabase
from tests.support.sql import Conn

NOTIFY_PAYLOAD_CAP = 8000  # bytes, PostgreSQL's limit


@pytest.fixture
def seeded(gordon_db: GordonDatabase) -> Iterator[GordonDatabase]:
    with psycopg.connect(gordon_db.dsn, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO market_data.instruments
                (venue, symbol, kind, base_asset, quote_asset, tick_size, lot_size)
            VALUES ('binance', 'BTCUSDT', 'perpetual', 'BTC', 'USDT', 0.1, 0.001);
            INSERT INTO trading.bot_configs
                (bot_id, display_name, strategy, instrument_id, mode, max_position_notional,
                 venue_account)
            SELECT 'alpha-bot', 'Alpha', 'momentum', instrument_id, 'paper', 1000, 'main'
            FROM market_data.instruments;
            INSERT INTO trading.runs
                (strategy, strategy_version, mode, quote_asset, initial_equity, bot_id)
            VALUES ('momentum', 'v1', 'paper', 'USDT', 1000, 'alpha-bot');
            """
        )
    yield gordon_db


def listen(db: GordonDatabase, *channels: str) -> Conn:
    """A listener, logged in as the read-only API (LISTEN needs no privilege)."""
    conn: Conn = psycopg.connect(db.dsn_as("gordon_api"), autocommit=True)
    for channel in channels:
        conn.execute(f"LISTEN {channel}")
    return conn


def received(conn: Conn, expected: int = 1) -> list[tuple[str, dict[str, object]]]:
    """Notifications that arrive within two seconds: (channel, decoded payload)."""
    out: list[tuple[str, dict[str, object]]] = []
    for notify in conn.notifies(timeout=2.0, stop_after=expected):
        assert len(notify.payload.encode("utf-8")) < 1024 < NOTIFY_PAYLOAD_CAP
        out.append((notify.channel, json.loads(notify.payload)))
    return out


def test_order_insert_notifies_gordon_orders_with_its_key_only(seeded: GordonDatabase) -> None:
    with listen(seeded, "gordon_orders", "gordon_fills") as listener:
        with psycopg.connect(seeded.dsn_as("gordon_trading"), autocommit=True) as trading:
            row = trading.execute(
                "INSERT INTO trading.order_intents (run_id, instrument_id, side, order_type,"
                " quantity) SELECT run_id, instrument_id, 'buy', 'market', 1"
                " FROM trading.runs, market_data.instruments RETURNING intent_id"
            ).fetchone()
            assert row is not None
            intent = row[0]
            trading.execute(
                "INSERT INTO trading.fills (intent_id, venue_fill_id, price, quantity, fee_asset,"
                " liquidity, filled_at) VALUES (%s, 'f-1', 100, 1, 'USDT', 'taker', now())",
                (intent,),
            )
        notes = received(listener, expected=2)
    assert notes[0] == (
        "gordon_orders",
        {"table": "trading.order_intents", "op": "INSERT", "key": {"intent_id": intent}},
    )
    channel, payload = notes[1]
    assert channel == "gordon_fills"
    assert (payload["table"], payload["op"]) == ("trading.fills", "INSERT")
    key = payload["key"]
    assert isinstance(key, dict)
    assert sorted(key) == ["fill_id", "intent_id"]
    assert key["intent_id"] == intent


def test_every_insert_trigger_publishes_on_its_channel(seeded: GordonDatabase) -> None:
    with listen(
        seeded, "gordon_bot_commands", "gordon_bot_events", "gordon_risk_events", "gordon_outbox"
    ) as listener:
        with psycopg.connect(seeded.dsn_as("gordon_risk"), autocommit=True) as risk:
            risk.execute(
                "INSERT INTO trading.bot_commands (bot_id, command, issued_by)"
                " VALUES ('alpha-bot', 'flatten', 'risk-service')"
            )
            risk.execute(
                "INSERT INTO trading.risk_events (kind, severity, bot_id, detail)"
                " VALUES ('manual', 'info', 'alpha-bot', %s)",
                # A large row: the payload names it, it does not carry it.
                (json.dumps({"note": "x" * 20000}),),
            )
            risk.execute(
                "INSERT INTO bus.outbox (topic, aggregate_type, aggregate_id, payload)"
                " VALUES ('risk.bot.flatten', 'bot', 'alpha-bot', %s)",
                (json.dumps({"blob": "y" * 50000}),),
            )
        with psycopg.connect(seeded.dsn_as("gordon_bots"), autocommit=True) as bots:
            bots.execute("SET gordon.bot_id = 'alpha-bot'")
            bots.execute(
                "INSERT INTO trading.bot_events (bot_id, kind) VALUES ('alpha-bot', 'flattened')"
            )
        notes = received(listener, expected=4)
    assert [(channel, payload["table"]) for channel, payload in notes] == [
        ("gordon_bot_commands", "trading.bot_commands"),
        ("gordon_risk_events", "trading.risk_events"),
        ("gordon_outbox", "bus.outbox"),
        ("gordon_bot_events", "trading.bot_events"),
    ]
    keys = [payload["key"] for _, payload in notes]
    assert all(isinstance(key, dict) for key in keys)
    assert [sorted(key) for key in keys if isinstance(key, dict)] == [
        ["bot_id", "command_id"],
        ["event_id"],
        ["outbox_id", "topic"],
        ["bot_id", "event_id"],
    ]


def test_risk_state_change_notifies_and_a_no_op_update_does_not(seeded: GordonDatabase) -> None:
    change = "UPDATE trading.risk_state SET mode = %s, reason = %s, changed_by = 'risk-service'"
    with listen(seeded, "gordon_risk_state") as listener:
        with psycopg.connect(seeded.dsn_as("gordon_risk"), autocommit=True) as risk:
            risk.execute(change, ("reduce_only", "venue maintenance"))
            risk.execute(change, ("reduce_only", "venue maintenance"))  # same values: silent
            risk.execute(change, ("normal", None))
        notes = received(listener, expected=3)
    assert notes == [
        (
            "gordon_risk_state",
            {
                "table": "trading.risk_state",
                "op": "UPDATE",
                "key": {"singleton": True},
                "mode": mode,
            },
        )
        for mode in ("reduce_only", "normal")
    ]


@pytest.fixture
def probe_table(gordon_db: GordonDatabase) -> Iterator[Conn]:
    """An owner's connection and a scratch table to hang triggers on."""
    with psycopg.connect(gordon_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.notify_probe (id bigint PRIMARY KEY, note text)")
        yield conn


def test_a_channel_outside_the_allowlist_raises(probe_table: Conn) -> None:
    probe_table.execute(
        "CREATE TRIGGER probe_notify AFTER INSERT ON public.notify_probe FOR EACH ROW"
        " EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_not_allowlisted', 'id')"
    )
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="not in the NOTIFY allowlist"):
        probe_table.execute("INSERT INTO public.notify_probe VALUES (1, 'x')")
    assert probe_table.execute("SELECT count(*) FROM public.notify_probe").fetchone() == (0,)


def test_trigger_misuse_raises(probe_table: Conn) -> None:
    probe_table.execute(
        "CREATE TRIGGER probe_no_such_key AFTER INSERT ON public.notify_probe FOR EACH ROW"
        " EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_orders', 'no_such_column')"
    )
    with pytest.raises(psycopg.errors.UndefinedColumn):
        probe_table.execute("INSERT INTO public.notify_probe VALUES (1, 'x')")
    probe_table.execute("DROP TRIGGER probe_no_such_key ON public.notify_probe")
    probe_table.execute(
        "CREATE TRIGGER probe_before BEFORE INSERT ON public.notify_probe FOR EACH ROW"
        " EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_orders', 'id')"
    )
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="AFTER"):
        probe_table.execute("INSERT INTO public.notify_probe VALUES (1, 'x')")
    probe_table.execute("DROP TRIGGER probe_before ON public.notify_probe")
    probe_table.execute(
        "CREATE TRIGGER probe_no_key AFTER INSERT ON public.notify_probe FOR EACH ROW"
        " EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_orders')"
    )
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="key column"):
        probe_table.execute("INSERT INTO public.notify_probe VALUES (1, 'x')")

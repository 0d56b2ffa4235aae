"""The grant matrix, proven by real logins: every runtime role can do what docs/schema.md says
and is refused the rest (writes, DDL, forbidden columns, rows hidden by row-level security).

Each test logs in as the role itself (not SET ROLE) on a fresh clone of the migrated template,
seeded by the owner with a small trading day: two instruments, three bots, a live run with an
order, commands, positions, leases, an audit entry and outbox events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql

from gordon_migrate.testing import GordonDatabase
from tests.support.roles import DRIFT_READER, GORDON_SCHEMAS, RUNTIME_ROLES
from tests.support.sql import Conn, affected, column, one, refused

SECRET = "\\x00112233445566778899aabbccddeeff"

SEED = f"""
INSERT INTO market_data.instruments
    (venue, symbol, kind, base_asset, quote_asset, tick_size, lot_size, min_notional)
VALUES ('binance', 'BTCUSDT', 'perpetual', 'BTC', 'USDT', 0.1, 0.001, 5),
       ('binance', 'ETHUSDT', 'perpetual', 'ETH', 'USDT', 0.01, 0.001, 5);

INSERT INTO market_data.candles (instrument_id, timeframe, open_time, close_time,
                                 open, high, low, close, volume, quote_volume, trade_count,
                                 is_closed)
SELECT instrument_id, '1m', t, t + interval '1 minute', 100, 110, 90, 105, 10, 1050, 42, closed
FROM market_data.instruments,
     (VALUES ('2026-05-01 00:00+00'::timestamptz, true),
             ('2026-05-01 00:01+00', true),
             ('2026-05-01 00:02+00', false)) AS c (t, closed);

INSERT INTO market_data.book_tops
    (instrument_id, captured_at, bid_price, bid_size, ask_price, ask_size)
SELECT instrument_id, '2026-05-01 00:02:30+00', 104.9, 3, 105.1, 2
FROM market_data.instruments;

INSERT INTO trading.bot_configs (bot_id, display_name, strategy, instrument_id, mode, enabled,
                                 max_position_notional, venue_account, venue_api_key,
                                 venue_api_secret, credentials_rotated_at)
SELECT b.bot_id, b.name, 'momentum', i.instrument_id, b.mode, true, 10000, 'main',
       b.api_key, b.secret::bytea, CASE WHEN b.api_key IS NOT NULL THEN now() END
FROM market_data.instruments i,
     (VALUES ('alpha-bot', 'Alpha', 'live', 'AKIA0000000000000001', '{SECRET}'),
             ('beta-bot', 'Beta', 'paper', NULL, NULL),
             ('gamma-bot', 'Gamma', 'paper', NULL, NULL)) AS b (bot_id, name, mode, api_key, secret)
WHERE i.symbol = 'BTCUSDT';

INSERT INTO trading.runs (strategy, strategy_version, mode, status, quote_asset, initial_equity,
                          started_at, bot_id, strategy_code_revision)
VALUES ('momentum', 'v1.4.2', 'live', 'running', 'USDT', 10000, now(), 'alpha-bot',
        repeat('a', 40));

INSERT INTO trading.order_intents (run_id, instrument_id, side, order_type, quantity,
                                   limit_price, status)
SELECT r.run_id, i.instrument_id, 'buy', 'limit', 0.5, 100, 'submitted'
FROM trading.runs r, market_data.instruments i WHERE i.symbol = 'BTCUSDT';

INSERT INTO trading.bot_commands (bot_id, command, issued_by)
VALUES ('alpha-bot', 'pause', 'ops'), ('beta-bot', 'pause', 'ops');

INSERT INTO trading.bot_positions (bot_id, instrument_id, quantity, average_entry_price)
SELECT b.bot_id, i.instrument_id, b.qty, 100
FROM market_data.instruments i, (VALUES ('alpha-bot', 0.5), ('beta-bot', -0.2)) AS b (bot_id, qty)
WHERE i.symbol = 'BTCUSDT';

INSERT INTO trading.bot_leases (bot_id, worker_id, acquired_at, renewed_at, expires_at)
VALUES ('alpha-bot', 'worker-a', now(), now(), now() + interval '1 hour'),
       ('beta-bot', 'worker-b', now() - interval '2 hours', now() - interval '2 hours',
        now() - interval '1 hour');

INSERT INTO trading.risk_audit (actor, action, bot_id, before_value, after_value, reason)
VALUES ('risk-service', 'bot_disabled', 'beta-bot', '{{"enabled": true}}', '{{"enabled": false}}',
        'drawdown limit');

INSERT INTO trading.risk_events (kind, severity, bot_id, detail)
VALUES ('drawdown_breach', 'critical', 'beta-bot', '{{"drawdown": 0.12}}');
"""


@dataclass(frozen=True)
class World:
    """The seeded database and the ids the tests need."""

    db: GordonDatabase
    btc: int
    run_id: int
    intent_id: int
    alpha_command: int
    beta_command: int

    def connect(self, role: str, **settings: str) -> Conn:
        """A real login as ``role``, with ``gordon.*`` session settings (SET, not SET LOCAL)."""
        conn: Conn = psycopg.connect(self.db.dsn_as(role), autocommit=True)
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, false)", (f"gordon.{name}", value))
        return conn

    def owner(self) -> Conn:
        return psycopg.connect(self.db.dsn, autocommit=True)


@pytest.fixture
def world(gordon_db: GordonDatabase) -> Iterator[World]:
    with psycopg.connect(gordon_db.dsn, autocommit=True) as conn:
        conn.execute(SEED)
        seeded = World(
            db=gordon_db,
            btc=int(
                str(
                    one(
                        conn,
                        "SELECT instrument_id FROM market_data.instruments"
                        " WHERE symbol = 'BTCUSDT'",
                    )
                )
            ),
            run_id=int(str(one(conn, "SELECT run_id FROM trading.runs"))),
            intent_id=int(str(one(conn, "SELECT intent_id FROM trading.order_intents"))),
            alpha_command=int(
                str(
                    one(
                        conn,
                        "SELECT command_id FROM trading.bot_commands WHERE bot_id = 'alpha-bot'",
                    )
                )
            ),
            beta_command=int(
                str(
                    one(
                        conn,
                        "SELECT command_id FROM trading.bot_commands WHERE bot_id = 'beta-bot'",
                    )
                )
            ),
        )
    yield seeded


# --------------------------------------------------------------------------------------------
# Every role: no DDL anywhere, no ownership tricks, no role changes.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*RUNTIME_ROLES, DRIFT_READER])
def test_no_role_can_create_alter_or_drop(world: World, role: str) -> None:
    with world.connect(role) as conn:
        for schema in [*GORDON_SCHEMAS, "public"]:
            refused(conn, f"CREATE TABLE {schema}.intruder (id bigint)")
            refused(conn, f"CREATE VIEW {schema}.intruder AS SELECT 1 AS one")
            refused(
                conn,
                f"CREATE FUNCTION {schema}.intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            )
        refused(conn, "CREATE SCHEMA intruder")
        refused(conn, "ALTER TABLE trading.runs ADD COLUMN intruder text")
        refused(conn, "ALTER TABLE trading.bot_configs DISABLE ROW LEVEL SECURITY")
        refused(conn, "DROP TABLE market_data.candles")
        refused(conn, "DROP POLICY bot_configs_own_bot ON trading.bot_configs")
        refused(conn, "CREATE INDEX intruder ON trading.fills (fee)")
        refused(conn, f"ALTER ROLE {role} BYPASSRLS")
        refused(conn, "TRUNCATE trading.order_events")


# --------------------------------------------------------------------------------------------
# gordon_ingest: writes market data, nothing else.
# --------------------------------------------------------------------------------------------


def test_ingest_writes_market_data(world: World) -> None:
    with world.connect("gordon_ingest") as conn:
        sol = one(
            conn,
            "INSERT INTO market_data.instruments (venue, symbol, kind, base_asset, quote_asset,"
            " tick_size, lot_size) VALUES ('binance', 'SOLUSDT', 'spot', 'SOL', 'USDT', 0.01, 0.1)"
            " RETURNING instrument_id",
        )
        # The forming candle is upserted until it closes.
        upsert = (
            "INSERT INTO market_data.candles (instrument_id, timeframe, open_time, close_time,"
            " open, high, low, close, volume, quote_volume, trade_count, is_closed)"
            " VALUES (%s, '1m', '2026-05-01 00:02+00', '2026-05-01 00:03+00',"
            " 105, 112, 104, %s, 20, 2100, 80, %s)"
            " ON CONFLICT (instrument_id, timeframe, open_time) DO UPDATE"
            " SET high = EXCLUDED.high, close = EXCLUDED.close, volume = EXCLUDED.volume,"
            "     quote_volume = EXCLUDED.quote_volume, trade_count = EXCLUDED.trade_count,"
            "     is_closed = EXCLUDED.is_closed, ingested_at = now()"
        )
        conn.execute(upsert, (world.btc, 108, False))
        conn.execute(upsert, (world.btc, 111, True))
        assert (
            one(
                conn,
                "SELECT close FROM market_data.candles WHERE instrument_id = %s"
                " AND open_time = '2026-05-01 00:02+00'",
                (world.btc,),
            )
            == 111
        )
        conn.execute(
            "INSERT INTO market_data.trade_prints (instrument_id, venue_trade_id, price, quantity,"
            " taker_side, traded_at) VALUES (%s, 't-1', 105, 0.2, 'buy', now())",
            (world.btc,),
        )
        conn.execute(
            "INSERT INTO market_data.book_tops VALUES (%s, now(), 105, 1, 105.2, 1)", (sol,)
        )
        conn.execute(
            "INSERT INTO market_data.funding_rates (instrument_id, funding_time, rate, mark_price)"
            " VALUES (%s, '2026-05-01 08:00+00', 0.0001, 105)",
            (world.btc,),
        )
        conn.execute(
            "INSERT INTO market_data.open_interest (instrument_id, captured_at, open_interest)"
            " VALUES (%s, now(), 1234.5)",
            (world.btc,),
        )
        conn.execute(
            "INSERT INTO market_data.instrument_aliases (source, alias, instrument_id)"
            " VALUES ('binance_ws', 'btcusdt', %s)",
            (world.btc,),
        )
        assert affected(conn, "DELETE FROM market_data.instrument_aliases") == 1
        # Venue metadata may be refreshed...
        assert (
            affected(
                conn,
                "UPDATE market_data.instruments SET tick_size = 0.5, contract_size = 1,"
                " updated_at = now() WHERE instrument_id = %s",
                (world.btc,),
            )
            == 1
        )


def test_ingest_is_refused_everything_else(world: World) -> None:
    with world.connect("gordon_ingest") as conn:
        # ... but an instrument is never re-keyed.
        refused(conn, "UPDATE market_data.instruments SET symbol = 'XBTUSDT'")
        refused(conn, "UPDATE market_data.instruments SET venue = 'other'")
        refused(conn, "DELETE FROM market_data.candles")
        refused(conn, "UPDATE market_data.candles SET open_time = open_time + interval '1 minute'")
        refused(conn, "DELETE FROM market_data.instruments")
        refused(conn, "UPDATE market_data.trade_prints SET price = 1")
        refused(conn, "SELECT * FROM market_data.latest_candles")
        refused(conn, "SELECT * FROM trading.runs")
        refused(conn, "SELECT * FROM trading.risk_state")
        refused(conn, "INSERT INTO trading.risk_events (kind, severity) VALUES ('manual', 'info')")
        refused(
            conn,
            "INSERT INTO bus.outbox (topic, aggregate_type, aggregate_id, payload)"
            " VALUES ('market.candle', 'candle', '1', '{}')",
        )


# --------------------------------------------------------------------------------------------
# gordon_trading: runs, orders, fills, trades; reads market data, configs with credentials.
# --------------------------------------------------------------------------------------------


def test_trading_engine_runs_the_order_lifecycle(world: World) -> None:
    with world.connect("gordon_trading") as conn:
        assert one(conn, "SELECT count(*) FROM market_data.candles") == 6
        assert one(conn, "SELECT count(*) FROM market_data.latest_candles") == 2
        run = one(
            conn,
            "INSERT INTO trading.runs (strategy, strategy_version, mode, quote_asset,"
            " initial_equity, bot_id, strategy_code_revision)"
            " VALUES ('momentum', 'v1.5.0', 'live', 'USDT', 5000, 'alpha-bot', %s)"
            " RETURNING run_id",
            ("b" * 40,),
        )
        assert (
            affected(
                conn,
                "UPDATE trading.runs SET status = 'running', started_at = now() WHERE run_id = %s",
                (run,),
            )
            == 1
        )
        intent = one(
            conn,
            "INSERT INTO trading.order_intents (run_id, instrument_id, side, order_type, quantity)"
            " VALUES (%s, %s, 'sell', 'market', 0.25) RETURNING intent_id",
            (run, world.btc),
        )
        conn.execute(
            "INSERT INTO trading.order_events (intent_id, event_type, venue_order_id, occurred_at)"
            " VALUES (%s, 'accepted', 'v-1', now())",
            (intent,),
        )
        conn.execute(
            "INSERT INTO trading.fills (intent_id, venue_fill_id, price, quantity, fee, fee_asset,"
            " liquidity, filled_at) VALUES (%s, 'f-1', 105, 0.25, 0.01, 'USDT', 'taker', now())",
            (intent,),
        )
        assert (
            affected(
                conn,
                "UPDATE trading.order_intents SET status = 'filled', filled_quantity = quantity,"
                " updated_at = now() WHERE intent_id = %s",
                (intent,),
            )
            == 1
        )
        trade = one(
            conn,
            "INSERT INTO trading.trades (intent_id, run_id, instrument_id, side, quantity,"
            " average_price, notional, executed_at)"
            " VALUES (%s, %s, %s, 'sell', 0.25, 105, 26.25, now()) RETURNING trade_id",
            (intent, run, world.btc),
        )
        roundtrip = one(
            conn,
            "INSERT INTO trading.roundtrips (run_id, instrument_id, direction, quantity,"
            " entry_price, opened_at) VALUES (%s, %s, 'short', 0.25, 105, now())"
            " RETURNING roundtrip_id",
            (run, world.btc),
        )
        assert (
            affected(
                conn,
                "UPDATE trading.trades SET roundtrip_id = %s WHERE trade_id = %s",
                (roundtrip, trade),
            )
            == 1
        )
        conn.execute(
            "INSERT INTO trading.equity (run_id, recorded_at, equity, cash, peak_equity)"
            " VALUES (%s, now(), 4990, 4990, 5000)",
            (run,),
        )
        conn.execute(
            "INSERT INTO trading.daily_notional_usage (trading_day, bot_id, instrument_id,"
            " notional_used, order_count) VALUES (current_date, 'alpha-bot', %s, 26.25, 1)"
            " ON CONFLICT (trading_day, bot_id, instrument_id) DO UPDATE"
            " SET notional_used = daily_notional_usage.notional_used + EXCLUDED.notional_used",
            (world.btc,),
        )
        # The engine signs orders: it alone reads the venue credentials, of every bot.
        assert column(conn, "SELECT venue_api_key FROM trading.bot_configs ORDER BY bot_id") == [
            "AKIA0000000000000001",
            None,
            None,
        ]
        conn.execute(
            "INSERT INTO trading.bot_commands (bot_id, command, issued_by)"
            " VALUES ('gamma-bot', 'start', 'engine')"
        )
        assert one(conn, "SELECT mode FROM trading.risk_state") == "halted"
        conn.execute(
            "INSERT INTO bus.outbox (topic, aggregate_type, aggregate_id, payload)"
            " VALUES ('trading.order.filled', 'order_intent', %s, '{}')",
            (str(intent),),
        )
    with world.owner() as owner:
        assert (
            one(owner, "SELECT produced_by FROM bus.outbox WHERE aggregate_id = %s", (str(intent),))
            == "gordon_trading"
        )


def test_trading_engine_is_refused_everything_else(world: World) -> None:
    with world.connect("gordon_trading") as conn:
        # What was run is not rewritten after the fact (0019, 0038).
        refused(conn, "UPDATE trading.runs SET params = '{}'")
        refused(conn, "UPDATE trading.runs SET strategy_code_revision = NULL")
        refused(conn, "UPDATE trading.trades SET quantity = 1")
        refused(conn, "UPDATE trading.fills SET fee = 0")
        refused(conn, "UPDATE trading.order_events SET detail = '{}'")
        refused(conn, "DELETE FROM trading.order_intents")
        refused(conn, "DELETE FROM trading.runs")
        refused(conn, "INSERT INTO market_data.candles SELECT * FROM market_data.candles LIMIT 1")
        refused(conn, "UPDATE trading.risk_state SET mode = 'normal'")
        refused(
            conn,
            "INSERT INTO trading.risk_config (scope, max_order_notional, max_position_notional,"
            " max_daily_loss, max_open_orders, created_by) VALUES ('global', 1, 1, 1, 1, 'x')",
        )
        refused(
            conn,
            "INSERT INTO trading.daily_notional_caps (scope, quote_asset, cap_notional,"
            " effective_from, created_by) VALUES ('global', 'USDT', 1, current_date, 'x')",
        )
        refused(conn, "UPDATE trading.bot_configs SET enabled = false")
        refused(conn, "UPDATE trading.bot_commands SET status = 'acknowledged'")
        refused(conn, "INSERT INTO trading.bot_events (bot_id, kind) VALUES ('alpha-bot', 'error')")
        refused(conn, "SELECT * FROM trading.risk_events")
        # The outbox is write-only for producers, and its delivery state is the relay's.
        refused(conn, "SELECT * FROM bus.outbox")
        refused(
            conn,
            "INSERT INTO bus.outbox (topic, aggregate_type, aggregate_id, payload, delivered_at)"
            " VALUES ('trading.x.y', 'x', '1', '{}', now())",
        )
        refused(
            conn,
            "INSERT INTO bus.outbox (topic, aggregate_type, aggregate_id, payload, produced_by)"
            " VALUES ('trading.x.y', 'x', '1', '{}', 'gordon_risk')",
        )


# --------------------------------------------------------------------------------------------
# gordon_bots: its own bot's rows only (gordon.bot_id), its own worker's leases (gordon.worker_id).
# --------------------------------------------------------------------------------------------


def test_bots_see_no_row_without_a_bot_id(world: World) -> None:
    with world.connect("gordon_bots") as conn:
        assert column(conn, "SELECT bot_id FROM trading.bot_configs") == []
        assert column(conn, "SELECT command_id FROM trading.bot_commands") == []
        assert column(conn, "SELECT bot_id FROM trading.bot_positions") == []
        assert column(conn, "SELECT event_id FROM trading.bot_events") == []
        refused(
            conn,
            "INSERT INTO trading.bot_events (bot_id, kind) VALUES ('alpha-bot', 'started')",
        )


def test_bots_work_on_their_own_bot_only(world: World) -> None:
    with world.connect("gordon_bots", bot_id="alpha-bot") as conn:
        assert conn.execute(
            "SELECT bot_id, mode, credentials_rotated_at IS NOT NULL FROM trading.bot_configs"
        ).fetchall() == [("alpha-bot", "live", True)]
        # Secret-bearing columns are not granted: neither by name nor through *.
        refused(conn, "SELECT venue_api_key FROM trading.bot_configs")
        refused(conn, "SELECT venue_api_secret FROM trading.bot_configs")
        refused(conn, "SELECT * FROM trading.bot_configs")

        assert column(conn, "SELECT command_id FROM trading.bot_commands") == [world.alpha_command]
        ack = (
            "UPDATE trading.bot_commands SET status = 'acknowledged', acknowledged_at = now()"
            " WHERE command_id = %s"
        )
        assert affected(conn, ack, (world.alpha_command,)) == 1
        assert affected(conn, ack, (world.beta_command,)) == 0, "another bot's command is hidden"
        refused(conn, "UPDATE trading.bot_commands SET args = '{\"x\": 1}'")
        refused(conn, "UPDATE trading.bot_commands SET bot_id = 'beta-bot'")
        refused(
            conn,
            "INSERT INTO trading.bot_commands (bot_id, command, issued_by)"
            " VALUES ('alpha-bot', 'start', 'self')",
        )

        conn.execute(
            "INSERT INTO trading.bot_events (bot_id, command_id, kind)"
            " VALUES ('alpha-bot', %s, 'paused')",
            (world.alpha_command,),
        )
        refused(conn, "INSERT INTO trading.bot_events (bot_id, kind) VALUES ('beta-bot', 'paused')")

        mark = (
            "UPDATE trading.bot_positions SET mark_price = 106, unrealized_pnl = 3,"
            " marked_at = now() WHERE bot_id = %s"
        )
        assert affected(conn, mark, ("alpha-bot",)) == 1
        assert affected(conn, mark, ("beta-bot",)) == 0
        refused(
            conn,
            "INSERT INTO trading.bot_positions (bot_id, instrument_id, quantity,"
            " average_entry_price) VALUES ('beta-bot', %s, 1, 100)",
            (world.btc,),
        )
        refused(conn, "UPDATE trading.bot_positions SET bot_id = 'beta-bot'")
        refused(conn, "DELETE FROM trading.bot_positions")
        refused(conn, "UPDATE trading.bot_configs SET enabled = false")

        # Reads: the reader views and the risk state; not the market data tables, not orders.
        assert one(conn, "SELECT count(*) FROM market_data.latest_book_tops") == 2
        assert one(conn, "SELECT mode FROM trading.risk_state") == "halted"
        refused(conn, "SELECT * FROM market_data.candles")
        refused(conn, "SELECT * FROM trading.order_intents")
        refused(conn, "SELECT * FROM trading.runs")
        refused(conn, "UPDATE trading.risk_state SET mode = 'normal'")
        conn.execute(
            "INSERT INTO bus.outbox (topic, aggregate_type, aggregate_id, payload)"
            " VALUES ('bots.command.acknowledged', 'bot_command', %s, '{}')",
            (str(world.alpha_command),),
        )


def test_bot_leases_belong_to_their_worker(world: World) -> None:
    renew = (
        "UPDATE trading.bot_leases SET renewed_at = now(), expires_at = now() + interval '30 s'"
        " WHERE bot_id = %s"
    )
    take = (
        "UPDATE trading.bot_leases SET worker_id = %s, acquired_at = now(), renewed_at = now(),"
        " expires_at = now() + interval '30 s' WHERE bot_id = %s"
    )
    with world.connect("gordon_bots", worker_id="worker-a") as conn:
        # Every worker sees every lease, to find free bots.
        assert column(conn, "SELECT bot_id FROM trading.bot_leases ORDER BY bot_id") == [
            "alpha-bot",
            "beta-bot",
        ]
        assert affected(conn, renew, ("alpha-bot",)) == 1
        # beta's lease is worker-b's: it cannot be renewed for worker-b by worker-a, but it has
        # expired, so worker-a may take it over.
        refused(conn, renew, ("beta-bot",))
        assert affected(conn, take, ("worker-a", "beta-bot")) == 1
        # A lease is never handed to another worker: it is released, then taken.
        refused(conn, take, ("worker-b", "beta-bot"))
        conn.execute(
            "INSERT INTO trading.bot_leases (bot_id, worker_id, expires_at)"
            " VALUES ('gamma-bot', 'worker-a', now() + interval '30 s')"
        )
    with world.connect("gordon_bots", worker_id="worker-b") as conn:
        assert affected(conn, renew, ("alpha-bot",)) == 0, "a live lease of another worker"
        assert affected(conn, take, ("worker-b", "alpha-bot")) == 0
        assert affected(conn, "DELETE FROM trading.bot_leases WHERE bot_id = 'alpha-bot'") == 0
        assert affected(conn, take, ("worker-a", "gamma-bot")) == 0
    with world.connect("gordon_bots", worker_id="worker-a") as conn:
        assert affected(conn, "DELETE FROM trading.bot_leases WHERE bot_id = 'gamma-bot'") == 1
    with world.connect("gordon_bots", worker_id="worker-c") as conn:
        refused(
            conn,
            "INSERT INTO trading.bot_leases (bot_id, worker_id, expires_at)"
            " VALUES ('gamma-bot', 'worker-a', now() + interval '30 s')",
        )
    with world.connect("gordon_bots") as conn:
        assert affected(conn, renew, ("alpha-bot",)) == 0, "no worker id, no lease"


# --------------------------------------------------------------------------------------------
# gordon_risk: risk state, limits, audit, events; may switch a bot off and command it.
# --------------------------------------------------------------------------------------------


def test_risk_service_governs_risk(world: World) -> None:
    with world.connect("gordon_risk") as conn:
        assert (
            affected(
                conn,
                "UPDATE trading.risk_state SET mode = 'normal', reason = NULL,"
                " changed_by = 'risk-service', changed_at = now()",
            )
            == 1
        )
        conn.execute(
            "INSERT INTO trading.risk_config (scope, bot_id, max_order_notional,"
            " max_position_notional, max_daily_loss, max_open_orders, created_by)"
            " VALUES ('bot', 'alpha-bot', 1000, 5000, 500, 10, 'risk-service')"
        )
        conn.execute(
            "INSERT INTO trading.daily_notional_caps (scope, quote_asset, cap_notional,"
            " effective_from, created_by) VALUES ('global', 'USDT', 250000, current_date, 'risk')"
        )
        conn.execute(
            "INSERT INTO trading.risk_audit (actor, action, bot_id, reason, crashed_during)"
            " VALUES ('risk-service', 'flatten_crashed_during', 'alpha-bot', 'venue timeout',"
            " 'close_positions')"
        )
        event = one(
            conn,
            "INSERT INTO trading.risk_events (kind, severity, bot_id)"
            " VALUES ('daily_notional_cap_breach', 'critical', 'alpha-bot') RETURNING event_id",
        )
        assert (
            affected(
                conn,
                "UPDATE trading.risk_events SET acknowledged_at = now(), acknowledged_by = 'oncall'"
                " WHERE event_id = %s",
                (event,),
            )
            == 1
        )
        # A bot can be switched off, and commanded to flatten.
        assert (
            affected(
                conn,
                "UPDATE trading.bot_configs SET enabled = false, disabled_reason = 'daily loss',"
                " updated_at = now() WHERE bot_id = 'alpha-bot'",
            )
            == 1
        )
        conn.execute(
            "INSERT INTO trading.bot_commands (bot_id, command, issued_by)"
            " VALUES ('alpha-bot', 'flatten', 'risk-service')"
        )
        # It reads every bot's positions and orders (no bot scoping for risk).
        assert one(conn, "SELECT count(*) FROM trading.bot_positions") == 2
        assert one(conn, "SELECT count(*) FROM trading.order_intents") == 1
        assert one(conn, "SELECT count(*) FROM market_data.latest_candles") == 2
        conn.execute(
            "INSERT INTO bus.outbox (topic, aggregate_type, aggregate_id, payload)"
            " VALUES ('risk.state.changed', 'risk_state', 'singleton', '{}')"
        )


def test_risk_service_is_refused_everything_else(world: World) -> None:
    with world.connect("gordon_risk") as conn:
        # The singleton is updated, never inserted or deleted.
        refused(
            conn,
            "INSERT INTO trading.risk_state (mode, reason, changed_by)"
            " VALUES ('halted', 'x', 'risk')",
        )
        refused(conn, "DELETE FROM trading.risk_state")
        # Limits are versioned and the audit trail is append-only.
        refused(conn, "UPDATE trading.risk_config SET max_open_orders = 1")
        refused(conn, "DELETE FROM trading.risk_config")
        refused(conn, "UPDATE trading.risk_audit SET reason = 'rewritten'")
        refused(conn, "DELETE FROM trading.risk_audit")
        refused(conn, "UPDATE trading.risk_events SET severity = 'info'")
        refused(conn, "DELETE FROM trading.risk_events")
        # Only the on/off switch of a bot's configuration, and never its credentials.
        refused(conn, "UPDATE trading.bot_configs SET max_position_notional = 1e9")
        refused(conn, "UPDATE trading.bot_configs SET venue_api_key = NULL")
        refused(conn, "SELECT venue_api_secret FROM trading.bot_configs")
        refused(conn, "SELECT * FROM trading.bot_configs")
        refused(conn, "UPDATE trading.order_intents SET status = 'rejected'")
        refused(conn, "UPDATE trading.daily_notional_usage SET notional_used = 0")
        refused(conn, "SELECT * FROM market_data.candles")
        refused(conn, "SELECT * FROM bus.outbox")


# --------------------------------------------------------------------------------------------
# gordon_api: reads, never writes; no secrets, no audit snapshots, no market data tables.
# --------------------------------------------------------------------------------------------


def test_api_reads_what_it_is_granted(world: World) -> None:
    with world.connect("gordon_api") as conn:
        for relation in [
            "trading.runs",
            "trading.roundtrips",
            "trading.equity",
            "trading.pipeline_state",
            "trading.order_intents",
            "trading.order_events",
            "trading.fills",
            "trading.trades",
            "trading.venue_balances",
            "trading.bot_commands",
            "trading.bot_events",
            "trading.bot_leases",
            "trading.bot_positions",
            "trading.risk_config",
            "trading.risk_events",
            "trading.risk_state",
            "trading.daily_notional_caps",
            "trading.daily_notional_usage",
            "market_data.instrument_directory",
            "market_data.candle_history",
            "market_data.latest_candles",
            "market_data.latest_book_tops",
        ]:
            conn.execute(f"SELECT * FROM {relation} LIMIT 1").fetchall()
        assert column(conn, "SELECT bot_id FROM trading.bot_configs ORDER BY bot_id") == [
            "alpha-bot",
            "beta-bot",
            "gamma-bot",
        ]
        assert one(conn, "SELECT action FROM trading.risk_audit") == "bot_disabled"
        assert one(conn, "SELECT count(*) FROM trading.bot_positions") == 2
        assert one(conn, "SELECT count(*) FROM market_data.candle_history") == 4


def test_api_is_refused_secrets_snapshots_and_raw_market_data(world: World) -> None:
    with world.connect("gordon_api") as conn:
        refused(conn, "SELECT venue_api_key FROM trading.bot_configs")
        refused(conn, "SELECT venue_api_secret FROM trading.bot_configs")
        refused(conn, "SELECT * FROM trading.bot_configs")
        refused(conn, "SELECT before_value FROM trading.risk_audit")
        refused(conn, "SELECT after_value FROM trading.risk_audit")
        refused(conn, "SELECT * FROM market_data.candles")
        refused(conn, "SELECT * FROM market_data.instruments")
        refused(conn, "SELECT * FROM bus.outbox")


def test_api_writes_nothing_anywhere(world: World) -> None:
    """Enumerated from the catalog, so a table added by a later patch is covered too."""
    with world.owner() as owner:
        tables = owner.execute(
            """
            SELECT n.nspname, c.relname,
                   (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                      AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity = ''
                    ORDER BY a.attnum LIMIT 1)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') ORDER BY 1, 2
            """,
            (GORDON_SCHEMAS,),
        ).fetchall()
    assert len(tables) >= 25
    with world.connect("gordon_api") as conn:
        for schema, name, first in tables:
            table = sql.Identifier(str(schema), str(name))
            col = sql.Identifier(str(first))
            for statement in (
                sql.SQL("INSERT INTO {} DEFAULT VALUES").format(table),
                sql.SQL("UPDATE {} SET {} = {} WHERE false").format(table, col, col),
                sql.SQL("DELETE FROM {} WHERE false").format(table),
                sql.SQL("TRUNCATE {}").format(table),
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)


# --------------------------------------------------------------------------------------------
# gordon_outbox_relay: reads the outbox, records delivery of the rows it claimed.
# --------------------------------------------------------------------------------------------


def test_outbox_relay_delivers_what_it_claims(world: World) -> None:
    with world.owner() as owner:
        ids = column(
            owner,
            """
            INSERT INTO bus.outbox (topic, aggregate_type, aggregate_id, payload, created_at,
                                    claimed_by, claim_expires_at, delivered_at)
            VALUES ('trading.order.filled', 'order_intent', '1', '{}', now(), NULL, NULL, NULL),
                   ('trading.order.filled', 'order_intent', '2', '{}', now(), 'relay-2',
                    now() + interval '1 minute', NULL),
                   ('trading.order.filled', 'order_intent', '3', '{}', now() - interval '9 days',
                    'relay-2', now() - interval '9 days', now() - interval '8 days'),
                   ('trading.order.filled', 'order_intent', '4', '{}', now() - interval '2 hours',
                    'relay-2', now() - interval '2 hours', now() - interval '1 hour')
            RETURNING outbox_id
            """,
        )
    free, busy, old, recent = ids
    with world.connect("gordon_outbox_relay", worker_id="relay-1") as conn:
        assert one(conn, "SELECT count(*) FROM bus.outbox") == 4
        # Claim a batch: the row another relay holds (claim not expired) is skipped.
        claimed = column(
            conn,
            "UPDATE bus.outbox SET claimed_by = 'relay-1',"
            " claim_expires_at = now() + interval '30 s', attempts = attempts + 1"
            " WHERE delivered_at IS NULL AND dead_lettered_at IS NULL RETURNING outbox_id",
        )
        assert claimed == [free]
        assert (
            affected(
                conn, "UPDATE bus.outbox SET delivered_at = now() WHERE outbox_id = %s", (free,)
            )
            == 1
        )
        assert (
            affected(
                conn, "UPDATE bus.outbox SET delivered_at = now() WHERE outbox_id = %s", (busy,)
            )
            == 0
        )
        # A claim cannot be handed to another worker, nor the event rewritten.
        refused(conn, "UPDATE bus.outbox SET claimed_by = 'relay-2' WHERE outbox_id = %s", (free,))
        refused(conn, "UPDATE bus.outbox SET payload = '{}'")
        refused(conn, "UPDATE bus.outbox SET topic = 'x.y'")
        refused(conn, "UPDATE bus.outbox SET produced_by = 'x'")
        refused(
            conn,
            "INSERT INTO bus.outbox (topic, aggregate_type, aggregate_id, payload)"
            " VALUES ('relay.x', 'x', '1', '{}')",
        )
        # Pruning: delivered more than seven days ago only.
        assert column(conn, "DELETE FROM bus.outbox RETURNING outbox_id") == [old]
        assert recent in column(conn, "SELECT outbox_id FROM bus.outbox")
        refused(conn, "SELECT * FROM trading.order_intents")
        refused(conn, "SELECT * FROM market_data.latest_candles")
    with world.owner() as owner:
        owner.execute(
            "UPDATE bus.outbox SET claim_expires_at = now() - interval '1 s' WHERE outbox_id = %s",
            (busy,),
        )
    with world.connect("gordon_outbox_relay", worker_id="relay-1") as conn:
        assert (
            affected(
                conn,
                "UPDATE bus.outbox SET claimed_by = 'relay-1',"
                " claim_expires_at = now() + interval '30 s' WHERE outbox_id = %s",
                (busy,),
            )
            == 1
        ), "an expired claim is taken over"
    with world.connect("gordon_outbox_relay") as conn:
        assert (
            affected(conn, "UPDATE bus.outbox SET last_error = 'x' WHERE delivered_at IS NULL") == 0
        ), "without a worker id nothing claimed is writable"


# --------------------------------------------------------------------------------------------
# gordon_drift_reader: the catalogs, and no table data at all.
# --------------------------------------------------------------------------------------------


def test_drift_reader_reads_the_catalogs(world: World) -> None:
    """Everything drift-check compares is in the catalogs, readable without any grant.

    The reader has no USAGE on the Gordon schemas, so it finds objects by joining the catalogs
    (oids), not by name: a name cast such as 'trading.fills'::regclass needs USAGE and is refused.
    """
    by_oid = (
        "SELECT {}(x.oid) FROM {} x JOIN pg_namespace n ON n.oid = x.{}"
        " WHERE n.nspname = %s AND x.{} = %s"
    )
    with world.connect(DRIFT_READER) as conn:
        assert int(str(one(conn, "SELECT count(*) FROM pg_class"))) > 100
        function = by_oid.format("pg_get_functiondef", "pg_proc", "pronamespace", "proname")
        assert "'gordon_orders'" in str(one(conn, function, ("trading", "ipc_notify_trigger")))
        view = by_oid.format("pg_get_viewdef", "pg_class", "relnamespace", "relname")
        assert "LIMIT 1" in str(one(conn, view, ("market_data", "latest_candles")))
        relation = by_oid.format("", "pg_class", "relnamespace", "relname")
        bot_configs = one(conn, relation, ("trading", "bot_configs"))
        assert (
            one(
                conn,
                "SELECT count(*) FROM pg_attribute WHERE attrelid = %s AND attacl IS NOT NULL",
                (bot_configs,),
            )
            == 13
        )
        assert "gordon.bot_id" in str(
            one(
                conn,
                "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polname = %s",
                ("bot_configs_own_bot",),
            )
        )
        assert int(str(one(conn, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"))) >= 7
        assert int(str(one(conn, "SELECT count(*) FROM pg_db_role_setting"))) >= 7
        assert int(str(one(conn, "SELECT count(*) FROM pg_default_acl"))) >= 1
        assert one(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = 'gordon_api'") is False
        refused(conn, "SELECT 'trading.fills'::regclass")


def test_drift_reader_reads_no_table_data(world: World) -> None:
    with world.owner() as owner:
        relations = column(
            owner,
            "SELECT c.oid::regclass::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'S')",
            (GORDON_SCHEMAS,),
        )
    assert len(relations) >= 40
    with world.connect(DRIFT_READER) as conn:
        for relation in [*relations, "public._sqlx_migrations"]:
            refused(conn, f"SELECT * FROM {relation} LIMIT 1")

-- 0036 daily notional caps: a cap on the notional traded per UTC trading day, globally, per bot
-- or per instrument, on top of the per-order and per-position limits of risk_config. The risk
-- service sets the caps (versioned, like risk_config); the engine accumulates usage as it trades
-- and refuses an intent that would exceed the cap in force.

CREATE TABLE trading.daily_notional_caps (
    cap_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope           text NOT NULL CHECK (scope IN ('global', 'bot', 'instrument')),
    bot_id          text REFERENCES trading.bot_configs (bot_id),
    instrument_id   bigint REFERENCES market_data.instruments (instrument_id),
    quote_asset     text NOT NULL CHECK (quote_asset ~ '^[A-Z0-9]{1,20}$'),
    cap_notional    numeric(28,10) NOT NULL CHECK (cap_notional > 0),
    effective_from  date NOT NULL,
    created_by      text NOT NULL CHECK (char_length(created_by) BETWEEN 1 AND 128),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT daily_notional_caps_scope_target_check CHECK (
        (scope = 'global' AND bot_id IS NULL AND instrument_id IS NULL)
        OR (scope = 'bot' AND bot_id IS NOT NULL AND instrument_id IS NULL)
        OR (scope = 'instrument' AND bot_id IS NULL AND instrument_id IS NOT NULL))
);
CREATE UNIQUE INDEX daily_notional_caps_version_key
    ON trading.daily_notional_caps (scope, (coalesce(bot_id, '')), (coalesce(instrument_id, 0)), effective_from);
CREATE INDEX daily_notional_caps_bot_id_idx ON trading.daily_notional_caps (bot_id);
CREATE INDEX daily_notional_caps_instrument_id_idx ON trading.daily_notional_caps (instrument_id);
COMMENT ON TABLE trading.daily_notional_caps IS
    'Daily traded-notional caps, versioned by the UTC trading day they take effect.';

CREATE TABLE trading.daily_notional_usage (
    trading_day     date NOT NULL,
    bot_id          text NOT NULL REFERENCES trading.bot_configs (bot_id),
    instrument_id   bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    notional_used   numeric(28,10) NOT NULL DEFAULT 0 CHECK (notional_used >= 0),
    order_count     integer NOT NULL DEFAULT 0 CHECK (order_count >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT daily_notional_usage_pkey PRIMARY KEY (trading_day, bot_id, instrument_id)
);
CREATE INDEX daily_notional_usage_bot_id_idx ON trading.daily_notional_usage (bot_id, trading_day);
CREATE INDEX daily_notional_usage_instrument_id_idx ON trading.daily_notional_usage (instrument_id, trading_day);
COMMENT ON TABLE trading.daily_notional_usage IS
    'Notional traded so far per UTC trading day, bot and instrument (upserted by the engine).';

GRANT SELECT, INSERT ON trading.daily_notional_caps TO gordon_risk;
GRANT SELECT ON trading.daily_notional_caps TO gordon_trading, gordon_api;

GRANT SELECT, INSERT, UPDATE ON trading.daily_notional_usage TO gordon_trading;
GRANT SELECT ON trading.daily_notional_usage TO gordon_risk, gordon_api;

-- A breach is a risk event of its own kind.
ALTER TABLE trading.risk_events
    DROP CONSTRAINT risk_events_kind_check,
    ADD CONSTRAINT risk_events_kind_check
        CHECK (kind IN ('limit_breach', 'order_rejected', 'drawdown_breach', 'daily_loss_breach',
                        'stale_market_data', 'kill_switch', 'manual', 'daily_notional_cap_breach'));

-- 0006 trading risk: risk events, versioned risk limits, the audit trail, and the risk state
-- singleton that NOTIFYs every service when it changes.

CREATE TABLE trading.risk_config (
    config_id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope                   text NOT NULL CHECK (scope IN ('global', 'bot', 'instrument')),
    bot_id                  text REFERENCES trading.bot_configs (bot_id),
    instrument_id           bigint REFERENCES market_data.instruments (instrument_id),
    max_order_notional      numeric(28,10) NOT NULL CHECK (max_order_notional > 0),
    max_position_notional   numeric(28,10) NOT NULL CHECK (max_position_notional > 0),
    max_daily_loss          numeric(28,10) NOT NULL CHECK (max_daily_loss > 0),
    max_open_orders         integer NOT NULL CHECK (max_open_orders BETWEEN 1 AND 1000),
    max_leverage            numeric(6,2) NOT NULL DEFAULT 1 CHECK (max_leverage >= 1 AND max_leverage <= 100),
    effective_from          timestamptz NOT NULL DEFAULT now(),
    created_by              text NOT NULL CHECK (char_length(created_by) BETWEEN 1 AND 128),
    created_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT risk_config_scope_target_check CHECK (
        (scope = 'global' AND bot_id IS NULL AND instrument_id IS NULL)
        OR (scope = 'bot' AND bot_id IS NOT NULL AND instrument_id IS NULL)
        OR (scope = 'instrument' AND bot_id IS NULL AND instrument_id IS NOT NULL))
);
-- Versioned and append-only: a change is a new row; the limits in force for a target are the
-- row with the latest effective_from not in the future. One version per target and instant.
CREATE UNIQUE INDEX risk_config_version_key
    ON trading.risk_config (scope, (coalesce(bot_id, '')), (coalesce(instrument_id, 0)), effective_from);
CREATE INDEX risk_config_bot_id_idx ON trading.risk_config (bot_id);
CREATE INDEX risk_config_instrument_id_idx ON trading.risk_config (instrument_id);
COMMENT ON TABLE trading.risk_config IS 'Risk limits, versioned: global, per bot or per instrument.';

CREATE TABLE trading.risk_events (
    event_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL
                    CHECK (kind IN ('limit_breach', 'order_rejected', 'drawdown_breach', 'daily_loss_breach',
                                    'stale_market_data', 'kill_switch', 'manual')),
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    bot_id          text REFERENCES trading.bot_configs (bot_id),
    instrument_id   bigint REFERENCES market_data.instruments (instrument_id),
    intent_id       bigint REFERENCES trading.order_intents (intent_id),
    detail          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    occurred_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risk_events_occurred_at_idx ON trading.risk_events (occurred_at);
CREATE INDEX risk_events_bot_id_idx ON trading.risk_events (bot_id);
CREATE INDEX risk_events_instrument_id_idx ON trading.risk_events (instrument_id);
CREATE INDEX risk_events_intent_id_idx ON trading.risk_events (intent_id);
COMMENT ON TABLE trading.risk_events IS 'What the risk service observed or enforced.';

CREATE TABLE trading.risk_audit (
    audit_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor           text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 128),
    action          text NOT NULL
                    CONSTRAINT risk_audit_action_check
                    CHECK (action IN ('config_changed', 'state_changed', 'kill_switch_engaged',
                                      'kill_switch_released', 'bot_disabled', 'bot_enabled',
                                      'flatten_requested', 'flatten_completed', 'limit_override')),
    bot_id          text REFERENCES trading.bot_configs (bot_id),
    config_id       bigint REFERENCES trading.risk_config (config_id),
    before_value    jsonb,
    after_value     jsonb,
    reason          text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 4000),
    occurred_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risk_audit_occurred_at_idx ON trading.risk_audit (occurred_at);
CREATE INDEX risk_audit_bot_id_idx ON trading.risk_audit (bot_id);
CREATE INDEX risk_audit_config_id_idx ON trading.risk_audit (config_id);
COMMENT ON TABLE trading.risk_audit IS
    'Append-only audit trail of risk decisions: no runtime role may UPDATE or DELETE it.';

-- The risk state: exactly one row, enforced by the database. The primary key is a boolean
-- constrained to true, so a second row cannot exist; the guard trigger refuses DELETE and
-- TRUNCATE, so the row cannot disappear. Trading starts halted: the risk service enables it.
CREATE TABLE trading.risk_state (
    singleton       boolean PRIMARY KEY DEFAULT true CONSTRAINT risk_state_singleton_check CHECK (singleton),
    mode            text NOT NULL DEFAULT 'halted' CHECK (mode IN ('normal', 'reduce_only', 'halted')),
    reason          text CHECK (char_length(reason) BETWEEN 1 AND 1000),
    changed_by      text NOT NULL CHECK (char_length(changed_by) BETWEEN 1 AND 128),
    changed_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT risk_state_reason_required_check CHECK (mode = 'normal' OR reason IS NOT NULL)
);
COMMENT ON TABLE trading.risk_state IS
    'The global risk mode: a singleton row. Every change is published on NOTIFY channel gordon_risk_state.';

INSERT INTO trading.risk_state (singleton, mode, reason, changed_by)
VALUES (true, 'halted', 'initial state: trading stays halted until the risk service enables it',
        'migration 0006');

CREATE FUNCTION trading.risk_state_guard() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
BEGIN
    RAISE EXCEPTION 'trading.risk_state is a singleton: % is not allowed, UPDATE the row instead', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
COMMENT ON FUNCTION trading.risk_state_guard() IS 'Keeps the risk_state row: refuses DELETE and TRUNCATE.';

CREATE TRIGGER risk_state_no_delete
    BEFORE DELETE ON trading.risk_state
    FOR EACH ROW EXECUTE FUNCTION trading.risk_state_guard();
CREATE TRIGGER risk_state_no_truncate
    BEFORE TRUNCATE ON trading.risk_state
    FOR EACH STATEMENT EXECUTE FUNCTION trading.risk_state_guard();

-- Publishes on the allowlisted channel gordon_risk_state (see ipc_notify_trigger, 0007): a small
-- JSON payload, never the row. The channel is a literal so the drift check can read it.
CREATE FUNCTION trading.risk_state_notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM pg_notify('gordon_risk_state', json_build_object(
        'table', 'trading.risk_state',
        'op', TG_OP,
        'key', json_build_object('singleton', NEW.singleton),
        'mode', NEW.mode)::text);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION trading.risk_state_notify() IS
    'NOTIFY gordon_risk_state with {table, op, key, mode} when the risk state changes.';

CREATE TRIGGER risk_state_notify
    AFTER UPDATE ON trading.risk_state
    FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION trading.risk_state_notify();

-- 0004 trading orders: the order lifecycle (intents, events, fills, trades).
--
-- An intent is what the engine decided to send; order_events is the append-only log of what the
-- venue said about it; fills are the executions; a trade is the aggregate of one intent's fills,
-- linked to the roundtrip it opened or closed.

CREATE TABLE trading.order_intents (
    intent_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_order_id     uuid NOT NULL DEFAULT gen_random_uuid(),
    run_id              bigint NOT NULL REFERENCES trading.runs (run_id),
    instrument_id       bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    side                text NOT NULL CHECK (side IN ('buy', 'sell')),
    order_type          text NOT NULL CHECK (order_type IN ('market', 'limit', 'stop_market', 'stop_limit')),
    time_in_force       text NOT NULL DEFAULT 'gtc' CHECK (time_in_force IN ('gtc', 'ioc', 'fok', 'post_only')),
    quantity            numeric(38,18) NOT NULL CHECK (quantity > 0),
    limit_price         numeric(30,12) CHECK (limit_price > 0),
    stop_price          numeric(30,12) CHECK (stop_price > 0),
    reduce_only         boolean NOT NULL DEFAULT false,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'submitted', 'accepted', 'partially_filled',
                                          'filled', 'cancelled', 'rejected', 'expired')),
    status_reason       text CHECK (char_length(status_reason) <= 1000),
    filled_quantity     numeric(38,18) NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT order_intents_client_order_id_key UNIQUE (client_order_id),
    CONSTRAINT order_intents_limit_price_required_check
        CHECK ((order_type IN ('limit', 'stop_limit')) = (limit_price IS NOT NULL)),
    CONSTRAINT order_intents_stop_price_required_check
        CHECK ((order_type IN ('stop_market', 'stop_limit')) = (stop_price IS NOT NULL)),
    CONSTRAINT order_intents_overfill_check CHECK (filled_quantity <= quantity),
    CONSTRAINT order_intents_filled_status_check CHECK ((status = 'filled') = (filled_quantity = quantity)),
    CONSTRAINT order_intents_rejection_reason_check CHECK (status <> 'rejected' OR status_reason IS NOT NULL)
);
CREATE INDEX order_intents_run_id_idx ON trading.order_intents (run_id, created_at);
CREATE INDEX order_intents_instrument_id_idx ON trading.order_intents (instrument_id);
COMMENT ON TABLE trading.order_intents IS
    'Orders the engine decided to place; client_order_id is sent to the venue for idempotent submission.';

CREATE TABLE trading.order_events (
    event_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intent_id       bigint NOT NULL REFERENCES trading.order_intents (intent_id),
    event_type      text NOT NULL
                    CHECK (event_type IN ('submitted', 'accepted', 'partially_filled', 'filled',
                                          'cancel_requested', 'cancelled', 'rejected', 'expired', 'amended')),
    venue_order_id  text CHECK (char_length(venue_order_id) BETWEEN 1 AND 128),
    detail          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_intent_id_idx ON trading.order_events (intent_id, occurred_at);
COMMENT ON TABLE trading.order_events IS 'Append-only log of venue events per intent.';

CREATE TABLE trading.fills (
    fill_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intent_id       bigint NOT NULL REFERENCES trading.order_intents (intent_id),
    venue_fill_id   text NOT NULL CHECK (char_length(venue_fill_id) BETWEEN 1 AND 128),
    price           numeric(30,12) NOT NULL CHECK (price > 0),
    quantity        numeric(38,18) NOT NULL CHECK (quantity > 0),
    fee             numeric(28,10) NOT NULL DEFAULT 0,
    fee_asset       text CHECK (fee_asset ~ '^[A-Z0-9]{1,20}$'),
    liquidity       text NOT NULL CHECK (liquidity IN ('maker', 'taker')),
    filled_at       timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fills_intent_venue_fill_key UNIQUE (intent_id, venue_fill_id)
);
COMMENT ON TABLE trading.fills IS 'Executions reported by the venue. A negative fee is a maker rebate.';

CREATE TABLE trading.trades (
    trade_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    intent_id       bigint NOT NULL REFERENCES trading.order_intents (intent_id),
    run_id          bigint NOT NULL REFERENCES trading.runs (run_id),
    instrument_id   bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    roundtrip_id    bigint REFERENCES trading.roundtrips (roundtrip_id),
    side            text NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity        numeric(38,18) NOT NULL CHECK (quantity > 0),
    average_price   numeric(30,12) NOT NULL CHECK (average_price > 0),
    notional        numeric(28,10) NOT NULL CHECK (notional > 0),
    fees            numeric(28,10) NOT NULL DEFAULT 0,
    executed_at     timestamptz NOT NULL,
    CONSTRAINT trades_intent_id_key UNIQUE (intent_id)
);
CREATE INDEX trades_run_id_idx ON trading.trades (run_id, executed_at);
CREATE INDEX trades_instrument_id_idx ON trading.trades (instrument_id);
CREATE INDEX trades_roundtrip_id_idx ON trading.trades (roundtrip_id);
COMMENT ON TABLE trading.trades IS 'One trade per executed intent (its fills aggregated), linked to its roundtrip.';

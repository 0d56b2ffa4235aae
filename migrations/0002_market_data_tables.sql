-- 0002 market data tables: every market_data table, written by the ingest service.
--
-- Type conventions of the whole schema (docs/schema.md):
--   prices                   numeric(30,12)   quantities / sizes       numeric(38,18)
--   quote-currency amounts   numeric(28,10)   rates (funding)          numeric(18,12)
--   times                    timestamptz      never float, never timestamp without time zone
-- States and codes are text with CHECK constraints (extendable by a forward-only patch without
-- the transaction restrictions of ALTER TYPE ... ADD VALUE).

CREATE TABLE market_data.instruments (
    instrument_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue           text NOT NULL CHECK (venue ~ '^[a-z][a-z0-9_]{1,31}$'),
    symbol          text NOT NULL CHECK (symbol ~ '^[A-Z0-9][A-Z0-9._/-]{0,63}$'),
    kind            text NOT NULL CHECK (kind IN ('spot', 'perpetual', 'future')),
    base_asset      text NOT NULL CHECK (base_asset ~ '^[A-Z0-9]{1,20}$'),
    quote_asset     text NOT NULL CHECK (quote_asset ~ '^[A-Z0-9]{1,20}$'),
    tick_size       numeric(30,12) NOT NULL CHECK (tick_size > 0),
    lot_size        numeric(38,18) NOT NULL CHECK (lot_size > 0),
    min_notional    numeric(28,10) NOT NULL DEFAULT 0 CHECK (min_notional >= 0),
    is_active       boolean NOT NULL DEFAULT true,
    listed_at       timestamptz,
    expires_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT instruments_venue_symbol_key UNIQUE (venue, symbol),
    CONSTRAINT instruments_future_expiry_check CHECK ((kind = 'future') = (expires_at IS NOT NULL)),
    CONSTRAINT instruments_assets_distinct_check CHECK (base_asset <> quote_asset)
);
COMMENT ON TABLE market_data.instruments IS
    'Tradable instruments per venue. Identity key; (venue, symbol) is the natural key.';

CREATE TABLE market_data.candles (
    instrument_id   bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    timeframe       text NOT NULL CHECK (timeframe IN ('1m', '5m', '15m', '1h', '4h', '1d')),
    open_time       timestamptz NOT NULL,
    close_time      timestamptz NOT NULL,
    open            numeric(30,12) NOT NULL,
    high            numeric(30,12) NOT NULL,
    low             numeric(30,12) NOT NULL,
    close           numeric(30,12) NOT NULL,
    volume          numeric(38,18) NOT NULL CHECK (volume >= 0),
    quote_volume    numeric(28,10) NOT NULL CHECK (quote_volume >= 0),
    trade_count     integer NOT NULL CHECK (trade_count >= 0),
    is_closed       boolean NOT NULL DEFAULT false,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT candles_pkey PRIMARY KEY (instrument_id, timeframe, open_time),
    CONSTRAINT candles_ohlc_check
        CHECK (low > 0 AND low <= open AND low <= close AND high >= open AND high >= close),
    CONSTRAINT candles_window_check CHECK (close_time > open_time)
);
COMMENT ON TABLE market_data.candles IS
    'OHLCV candles, natural key (instrument, interval, open time). The forming candle is upserted until is_closed.';
COMMENT ON COLUMN market_data.candles.timeframe IS 'The candle interval.';

CREATE TABLE market_data.trade_prints (
    instrument_id   bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    venue_trade_id  text NOT NULL CHECK (char_length(venue_trade_id) BETWEEN 1 AND 128),
    price           numeric(30,12) NOT NULL CHECK (price > 0),
    quantity        numeric(38,18) NOT NULL CHECK (quantity > 0),
    taker_side      text NOT NULL CHECK (taker_side IN ('buy', 'sell')),
    traded_at       timestamptz NOT NULL,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT trade_prints_pkey PRIMARY KEY (instrument_id, venue_trade_id)
);
COMMENT ON TABLE market_data.trade_prints IS
    'Public trades printed by the venue (not our executions: those are trading.fills).';

CREATE TABLE market_data.book_tops (
    instrument_id   bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    captured_at     timestamptz NOT NULL,
    bid_price       numeric(30,12) NOT NULL CHECK (bid_price > 0),
    bid_size        numeric(38,18) NOT NULL CHECK (bid_size >= 0),
    ask_price       numeric(30,12) NOT NULL CHECK (ask_price > 0),
    ask_size        numeric(38,18) NOT NULL CHECK (ask_size >= 0),
    CONSTRAINT book_tops_pkey PRIMARY KEY (instrument_id, captured_at),
    CONSTRAINT book_tops_not_crossed_check CHECK (ask_price >= bid_price)
);
COMMENT ON TABLE market_data.book_tops IS 'Top-of-book snapshots (best bid and ask).';

CREATE TABLE market_data.funding_rates (
    instrument_id   bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    funding_time    timestamptz NOT NULL,
    rate            numeric(18,12) NOT NULL,
    mark_price      numeric(30,12) NOT NULL CHECK (mark_price > 0),
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT funding_rates_pkey PRIMARY KEY (instrument_id, funding_time)
);
COMMENT ON TABLE market_data.funding_rates IS 'Funding rates of perpetual instruments, per funding time.';

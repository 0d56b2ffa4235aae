-- 0009 market data reader views: the read contract for services that do not own market data.
--
-- gordon_bots, gordon_risk and gordon_api hold no privilege on the market_data tables: they read
-- these views, which run with the privileges of their owner (the migrating role), so the tables
-- can change shape without every reader's grants following. gordon_trading may use them too.

CREATE VIEW market_data.instrument_directory AS
SELECT instrument_id, venue, symbol, kind, base_asset, quote_asset,
       tick_size, lot_size, min_notional, is_active, listed_at, expires_at
FROM market_data.instruments;
COMMENT ON VIEW market_data.instrument_directory IS 'Instruments as readers see them.';

-- Closed candles with their instrument's venue and symbol.
CREATE VIEW market_data.candle_history AS
SELECT c.instrument_id, i.venue, i.symbol, c.timeframe, c.open_time, c.close_time,
       c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trade_count
FROM market_data.candles c
JOIN market_data.instruments i ON i.instrument_id = c.instrument_id
WHERE c.is_closed;
COMMENT ON VIEW market_data.candle_history IS 'Closed candles with venue and symbol.';

-- The latest closed candle per active instrument and interval: one backward index probe of the
-- candles primary key per (instrument, interval), never a scan of the history. The intervals
-- listed are those of candles_timeframe_check: a patch that adds one replaces this view too.
CREATE VIEW market_data.latest_candles AS
SELECT i.instrument_id, i.venue, i.symbol, tf.timeframe, c.open_time, c.close_time,
       c.open, c.high, c.low, c.close, c.volume, c.quote_volume, c.trade_count
FROM market_data.instruments i
CROSS JOIN (VALUES ('1m'), ('5m'), ('15m'), ('1h'), ('4h'), ('1d')) AS tf (timeframe)
CROSS JOIN LATERAL (
    SELECT lc.open_time, lc.close_time, lc.open, lc.high, lc.low, lc.close,
           lc.volume, lc.quote_volume, lc.trade_count
    FROM market_data.candles lc
    WHERE lc.instrument_id = i.instrument_id AND lc.timeframe = tf.timeframe AND lc.is_closed
    ORDER BY lc.open_time DESC
    LIMIT 1
) AS c
WHERE i.is_active;
COMMENT ON VIEW market_data.latest_candles IS 'Latest closed candle per active instrument and interval.';

-- The latest top of book per active instrument, with mid price and spread in basis points.
CREATE VIEW market_data.latest_book_tops AS
SELECT i.instrument_id, i.venue, i.symbol, b.captured_at,
       b.bid_price, b.bid_size, b.ask_price, b.ask_size,
       round((b.bid_price + b.ask_price) / 2, 12) AS mid_price,
       round((b.ask_price - b.bid_price) * 20000 / (b.bid_price + b.ask_price), 4) AS spread_bps
FROM market_data.instruments i
CROSS JOIN LATERAL (
    SELECT lb.captured_at, lb.bid_price, lb.bid_size, lb.ask_price, lb.ask_size
    FROM market_data.book_tops lb
    WHERE lb.instrument_id = i.instrument_id
    ORDER BY lb.captured_at DESC
    LIMIT 1
) AS b
WHERE i.is_active;
COMMENT ON VIEW market_data.latest_book_tops IS 'Latest top of book per active instrument.';

GRANT SELECT ON market_data.instrument_directory, market_data.candle_history,
                market_data.latest_candles, market_data.latest_book_tops
    TO gordon_trading, gordon_bots, gordon_risk, gordon_api;

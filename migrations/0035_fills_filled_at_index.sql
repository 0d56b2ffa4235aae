-- no-transaction
-- 0035 fills filled at index: the daily fee and volume reports scan fills by time across all
-- intents. trading.fills is written on every execution, so the index is built CONCURRENTLY
-- (outside a transaction, see 0013 for what to do if the build is interrupted).

CREATE INDEX CONCURRENTLY IF NOT EXISTS fills_filled_at_idx ON trading.fills (filled_at);

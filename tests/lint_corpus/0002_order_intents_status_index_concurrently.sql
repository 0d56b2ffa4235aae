-- no-transaction
-- expect: (none)
-- hazard: none
-- The same index, built the safe way.
CREATE INDEX CONCURRENTLY IF NOT EXISTS order_intents_status_idx
    ON trading.order_intents (status);

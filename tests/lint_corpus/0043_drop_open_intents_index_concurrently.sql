-- no-transaction
-- expect: (none)
DROP INDEX CONCURRENTLY IF EXISTS trading.order_intents_open_idx;

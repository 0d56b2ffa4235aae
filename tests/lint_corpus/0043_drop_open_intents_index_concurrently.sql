-- no-transaction
-- expect: (none)
-- hazard: none
DROP INDEX CONCURRENTLY IF EXISTS trading.order_intents_open_idx;

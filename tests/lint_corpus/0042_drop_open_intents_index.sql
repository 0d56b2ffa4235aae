-- expect: index-not-concurrent
-- hazard: drop index without concurrently
DROP INDEX trading.order_intents_open_idx;

-- expect: index-not-concurrent
DROP INDEX trading.order_intents_open_idx;

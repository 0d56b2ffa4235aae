-- expect: index-not-concurrent
-- hazard: index built without concurrently
-- The risk monitor looks up intents by status; plain CREATE INDEX on the hot intents table.
CREATE INDEX order_intents_status_idx ON trading.order_intents (status);

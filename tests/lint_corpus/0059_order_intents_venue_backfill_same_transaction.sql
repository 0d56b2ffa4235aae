-- expect: backfill-under-lock
-- hazard: backfill update under the add column's access exclusive lock
-- shape: mastodon/mastodon db/post_migrate/20201017234926_fill_account_suspension_origin.rb (backfill), done in the same migration as its add_column
-- The ADD COLUMN takes ACCESS EXCLUSIVE on order_intents and holds it until COMMIT: the engine
-- cannot read or place an order for as long as the UPDATE runs.
ALTER TABLE trading.order_intents ADD COLUMN venue text;
UPDATE trading.order_intents AS o
SET venue = i.venue
FROM market_data.instruments AS i
WHERE i.instrument_id = o.instrument_id AND o.venue IS NULL;

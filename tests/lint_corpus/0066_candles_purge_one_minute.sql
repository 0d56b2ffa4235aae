-- expect: large-delete
-- hazard: large range delete in one transaction
-- shape: discourse/discourse db/post_migrate/20240912210450_delete_anonymous_users_from_directory_items.rb
-- One-minute candles are the bulk of market_data.candles.
DELETE FROM market_data.candles WHERE timeframe = '1m';

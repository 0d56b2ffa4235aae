-- expect: (none)
-- hazard: none
-- shape: discourse/discourse db/post_migrate/20210609152431_remove_directory_column_automatic.rb (a small catalog-only change)
COMMENT ON COLUMN market_data.candles.is_closed IS 'false while the candle is forming; upserts stop once true';

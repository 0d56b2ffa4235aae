-- expect: (none)
-- hazard: none
-- shape: misasa/medusa db/migrate/20151202002615_add_comment_to_custom_attributes.rb
COMMENT ON COLUMN market_data.candles.is_closed IS 'false while the candle is forming; upserts stop once true';

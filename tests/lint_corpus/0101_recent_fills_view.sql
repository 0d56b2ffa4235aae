-- expect: (none)
-- hazard: none
-- shape: mastodon/mastodon db/post_migrate/20260804081821_convert_materialized_views_to_tables.rb (read model for the API)
CREATE VIEW trading.recent_fills AS
    SELECT fill_id, intent_id, price, quantity, fee, fee_asset, liquidity, filled_at
    FROM trading.fills
    WHERE filled_at > now() - interval '1 day';
GRANT SELECT ON trading.recent_fills TO gordon_api;

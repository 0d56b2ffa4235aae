-- expect: (none)
-- hazard: none
-- shape: DEFRA/water-abstraction-system db/migrations/public/20240103124409_create-licence-roles-view.js
CREATE VIEW trading.recent_fills AS
    SELECT fill_id, intent_id, price, quantity, fee, fee_asset, liquidity, filled_at
    FROM trading.fills
    WHERE filled_at > now() - interval '1 day';
GRANT SELECT ON trading.recent_fills TO gordon_api;

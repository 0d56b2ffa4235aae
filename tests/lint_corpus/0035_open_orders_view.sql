-- expect: (none)
-- hazard: none
CREATE VIEW trading.open_orders AS
    SELECT intent_id, run_id, instrument_id, side, quantity, filled_quantity, status, created_at
    FROM trading.order_intents
    WHERE status IN ('pending', 'submitted', 'accepted', 'partially_filled');
GRANT SELECT ON trading.open_orders TO gordon_api;

-- expect: grant-decision-missing
-- hazard: new view with no grant decision
CREATE VIEW trading.open_orders AS
    SELECT intent_id, run_id, instrument_id, status FROM trading.order_intents
    WHERE status IN ('pending', 'submitted', 'accepted', 'partially_filled');

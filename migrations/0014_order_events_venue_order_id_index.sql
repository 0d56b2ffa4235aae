-- 0014 order events venue order id index: reconciliation looks venue reports up by the venue's
-- order id, which only some events carry.

CREATE INDEX order_events_venue_order_id_idx
    ON trading.order_events (venue_order_id)
    WHERE venue_order_id IS NOT NULL;

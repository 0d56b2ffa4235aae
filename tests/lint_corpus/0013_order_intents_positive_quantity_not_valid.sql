-- expect: (none)
-- hazard: none
ALTER TABLE trading.order_intents
    ADD CONSTRAINT order_intents_quantity_positive CHECK (quantity > 0) NOT VALID;

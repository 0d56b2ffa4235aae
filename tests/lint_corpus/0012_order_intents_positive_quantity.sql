-- expect: constraint-without-not-valid
-- hazard: check constraint validated under access exclusive
ALTER TABLE trading.order_intents
    ADD CONSTRAINT order_intents_quantity_positive CHECK (quantity > 0);

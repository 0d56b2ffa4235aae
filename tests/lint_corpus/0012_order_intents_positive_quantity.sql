-- expect: constraint-without-not-valid
ALTER TABLE trading.order_intents
    ADD CONSTRAINT order_intents_quantity_positive CHECK (quantity > 0);

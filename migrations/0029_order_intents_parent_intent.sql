-- 0029 order intents parent intent: bracket orders. The stop-loss and take-profit legs of an
-- entry order reference it; cancelling the parent cancels its children.

ALTER TABLE trading.order_intents
    ADD COLUMN parent_intent_id bigint REFERENCES trading.order_intents (intent_id),
    ADD CONSTRAINT order_intents_not_own_parent_check CHECK (parent_intent_id <> intent_id);

CREATE INDEX order_intents_parent_intent_id_idx ON trading.order_intents (parent_intent_id);

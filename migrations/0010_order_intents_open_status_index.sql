-- 0010 order intents open status index: the execution loop polls the intents still live on the
-- venue every tick; a partial index keeps that lookup independent of the growing history.

CREATE INDEX order_intents_open_idx
    ON trading.order_intents (instrument_id, created_at)
    WHERE status IN ('pending', 'submitted', 'accepted', 'partially_filled');

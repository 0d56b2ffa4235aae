-- expect: (none)
-- hazard: none
-- A new table and its index in the same migration: the table is empty, no CONCURRENTLY needed.
CREATE TABLE trading.order_tags (
    intent_id   bigint NOT NULL REFERENCES trading.order_intents (intent_id),
    tag         text NOT NULL CHECK (char_length(tag) BETWEEN 1 AND 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (intent_id, tag)
);
CREATE INDEX order_tags_tag_idx ON trading.order_tags (tag);
GRANT SELECT, INSERT, DELETE ON trading.order_tags TO gordon_trading;
GRANT SELECT ON trading.order_tags TO gordon_api;

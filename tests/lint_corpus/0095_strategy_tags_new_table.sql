-- expect: (none)
-- hazard: none
-- shape: PostHog/posthog posthog/migrations/0061_featureflag.py (new table with its FK, unique key and defaults)
CREATE TABLE trading.strategy_tags (
    strategy    text NOT NULL CHECK (strategy ~ '^[a-z][a-z0-9_]{1,63}$'),
    tag         text NOT NULL CHECK (char_length(tag) BETWEEN 1 AND 32),
    created_by  text NOT NULL CHECK (char_length(created_by) BETWEEN 1 AND 128),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT strategy_tags_pkey PRIMARY KEY (strategy, tag)
);
CREATE INDEX strategy_tags_tag_idx ON trading.strategy_tags (tag);
GRANT SELECT, INSERT, DELETE ON trading.strategy_tags TO gordon_trading;
GRANT SELECT ON trading.strategy_tags TO gordon_api;

-- expect: (none)
-- hazard: none
-- shape: PostHog/posthog posthog/migrations/0061_featureflag.py (new table, defaults, unique key)
CREATE TABLE trading.strategy_schedules (
    schedule_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    strategy     text NOT NULL CHECK (strategy ~ '^[a-z][a-z0-9_]{1,63}$'),
    cron         text NOT NULL CHECK (char_length(cron) BETWEEN 9 AND 64),
    enabled      boolean NOT NULL DEFAULT true,
    token        uuid NOT NULL DEFAULT gen_random_uuid(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT strategy_schedules_strategy_cron_key UNIQUE (strategy, cron)
);
GRANT SELECT ON trading.strategy_schedules TO gordon_trading, gordon_api;

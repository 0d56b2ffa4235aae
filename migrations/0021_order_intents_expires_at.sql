-- 0021 order intents expires at: good-till-date orders. A 'gtd' intent carries its expiry; no
-- other time in force may.

ALTER TABLE trading.order_intents ADD COLUMN expires_at timestamptz;

ALTER TABLE trading.order_intents
    DROP CONSTRAINT order_intents_time_in_force_check,
    ADD CONSTRAINT order_intents_time_in_force_check
        CHECK (time_in_force IN ('gtc', 'gtd', 'ioc', 'fok', 'post_only')),
    ADD CONSTRAINT order_intents_expiry_check
        CHECK ((time_in_force = 'gtd') = (expires_at IS NOT NULL) AND expires_at > created_at);

-- no-transaction
-- expect: no-transaction-not-rerunnable
-- hazard: no-transaction migration not re-runnable after a partial failure
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS bot_configs_display_name_key
    ON trading.bot_configs (display_name);
ALTER TABLE trading.bot_configs
    ADD CONSTRAINT bot_configs_display_name_key UNIQUE USING INDEX bot_configs_display_name_key;

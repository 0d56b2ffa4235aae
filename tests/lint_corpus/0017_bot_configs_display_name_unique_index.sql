-- no-transaction
-- expect: (none)
-- hazard: none
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS bot_configs_display_name_key
    ON trading.bot_configs (display_name);

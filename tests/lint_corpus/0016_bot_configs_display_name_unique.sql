-- expect: unique-without-index
-- hazard: unique constraint builds its index under access exclusive
ALTER TABLE trading.bot_configs
    ADD CONSTRAINT bot_configs_display_name_key UNIQUE (display_name);

-- expect: unique-without-index
ALTER TABLE trading.bot_configs
    ADD CONSTRAINT bot_configs_display_name_key UNIQUE (display_name);

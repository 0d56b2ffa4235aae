-- expect: drop-column
ALTER TABLE trading.bot_configs DROP COLUMN disabled_reason;

-- expect: drop-column
-- hazard: drop column still read by the running code
ALTER TABLE trading.bot_configs DROP COLUMN disabled_reason;

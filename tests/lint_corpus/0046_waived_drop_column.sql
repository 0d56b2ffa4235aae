-- expect: (none)
-- hazard: none
-- gordon:allow drop-column unused since gordon-api 7.4 (release 2026-11-02); no reader left
ALTER TABLE trading.bot_configs DROP COLUMN disabled_reason;

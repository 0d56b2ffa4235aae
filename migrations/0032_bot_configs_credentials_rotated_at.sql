-- 0032 bot configs credentials rotated at: when the venue credentials were last rotated, so the
-- API can show keys due for rotation. The date is not secret, unlike the credentials: it is
-- added to the column grants of the roles that may not read them.

ALTER TABLE trading.bot_configs ADD COLUMN credentials_rotated_at timestamptz;

ALTER TABLE trading.bot_configs
    ADD CONSTRAINT bot_configs_rotation_check
        CHECK (credentials_rotated_at IS NULL OR venue_api_key IS NOT NULL);

GRANT SELECT (credentials_rotated_at) ON trading.bot_configs TO gordon_bots, gordon_risk, gordon_api;

-- 0034 bot events lease kinds: record lease acquisition and watchdog restarts in the bot's
-- lifecycle log (until now only the loss of a lease was logged).

ALTER TABLE trading.bot_events
    DROP CONSTRAINT bot_events_kind_check,
    ADD CONSTRAINT bot_events_kind_check
        CHECK (kind IN ('started', 'stopped', 'paused', 'resumed', 'config_reloaded',
                        'flatten_started', 'flattened', 'error', 'lease_lost',
                        'lease_acquired', 'watchdog_restart'));

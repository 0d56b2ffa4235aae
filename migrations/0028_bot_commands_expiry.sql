-- 0028 bot commands expiry: a command nobody picked up in time (the bot was down) must not be
-- executed hours later. Commands may carry a deadline; the runner marks them 'expired' instead
-- of acknowledging them.

ALTER TABLE trading.bot_commands ADD COLUMN expires_at timestamptz;

ALTER TABLE trading.bot_commands
    DROP CONSTRAINT bot_commands_status_check,
    DROP CONSTRAINT bot_commands_acknowledged_check,
    DROP CONSTRAINT bot_commands_completed_check,
    ADD CONSTRAINT bot_commands_status_check
        CHECK (status IN ('pending', 'acknowledged', 'completed', 'failed', 'expired')),
    ADD CONSTRAINT bot_commands_acknowledged_check
        CHECK ((status IN ('pending', 'expired')) = (acknowledged_at IS NULL)),
    ADD CONSTRAINT bot_commands_completed_check
        CHECK ((status IN ('completed', 'failed', 'expired')) = (completed_at IS NOT NULL)),
    ADD CONSTRAINT bot_commands_expiry_check
        CHECK (expires_at > issued_at AND (status <> 'expired' OR expires_at IS NOT NULL));

-- The runner's poll: pending commands of its bot, oldest first.
CREATE INDEX bot_commands_pending_idx
    ON trading.bot_commands (bot_id, issued_at)
    WHERE status = 'pending';

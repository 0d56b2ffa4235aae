-- 0037 audit event flatten crashed during: a flatten (cancel every open order of a bot, then close
-- its positions) that crashes part-way leaves the bot half-flat. The risk service now records
-- that as its own audit event, with the step it crashed during, so the operator knows where to
-- resume: orders may still be open, or positions still held.

ALTER TABLE trading.risk_audit
    ADD COLUMN crashed_during text
        CHECK (crashed_during IN ('cancel_open_orders', 'close_positions', 'confirm_flat'));

ALTER TABLE trading.risk_audit
    DROP CONSTRAINT risk_audit_action_check,
    ADD CONSTRAINT risk_audit_action_check
        CHECK (action IN ('config_changed', 'state_changed', 'kill_switch_engaged',
                          'kill_switch_released', 'bot_disabled', 'bot_enabled',
                          'flatten_requested', 'flatten_completed', 'flatten_crashed_during',
                          'limit_override')),
    ADD CONSTRAINT risk_audit_flatten_crash_step_check
        CHECK ((action = 'flatten_crashed_during') = (crashed_during IS NOT NULL)),
    ADD CONSTRAINT risk_audit_flatten_crash_bot_check
        CHECK (action <> 'flatten_crashed_during' OR bot_id IS NOT NULL);

-- The API reads the audit trail column by column since 0016: the step is not sensitive.
GRANT SELECT (crashed_during) ON trading.risk_audit TO gordon_api;

-- expect: (none)
-- hazard: none
-- shape: RedHatInsights/compliance-backend db/migrate/20260210154323_update_function_v1_profile_rules_insert_to_version_2.rb (create_trigger in a migration)
CREATE TRIGGER bot_positions_notify
    AFTER UPDATE ON trading.bot_positions
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_bot_events', 'bot_id', 'instrument_id');

-- expect: (none)
-- hazard: none
-- shape: mastodon/mastodon db/post_migrate/20240808124339_post_deployment_migrate_notifications_policy_v2.rb (wire a new event source to an existing channel)
CREATE TRIGGER bot_positions_notify
    AFTER UPDATE ON trading.bot_positions
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_bot_events', 'bot_id', 'instrument_id');

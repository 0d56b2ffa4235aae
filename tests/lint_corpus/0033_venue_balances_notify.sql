-- expect: notify-channel
-- hazard: notify channel outside the allowlist
CREATE TRIGGER venue_balances_notify
    AFTER INSERT ON trading.venue_balances
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_balances', 'venue');

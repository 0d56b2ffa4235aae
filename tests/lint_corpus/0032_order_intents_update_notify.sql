-- expect: (none)
-- hazard: none
-- An allow-listed channel through the IPC trigger.
CREATE TRIGGER order_intents_status_notify
    AFTER UPDATE OF status ON trading.order_intents
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_orders', 'intent_id');

-- 0007 ipc channels: ipc_notify_trigger() and the AFTER INSERT triggers that wake the services.
--
-- Usage: EXECUTE FUNCTION trading.ipc_notify_trigger('<channel>', '<key column>' [, ...]).
-- The channel must be in the allowlist below (the function raises otherwise), so every channel
-- the schema can notify on is readable from the catalog: the trigger arguments, and the
-- literal in trading.risk_state_notify(). The payload is small JSON naming the row, never the
-- row itself (NOTIFY payloads are capped at 8000 bytes):
--     {"table": "trading.fills", "op": "INSERT", "key": {"fill_id": 42, "intent_id": 7}}
-- Listeners re-read the row, under their own grants.

CREATE FUNCTION trading.ipc_notify_trigger() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog
AS $$
DECLARE
    channel     text := TG_ARGV[0];
    row_data    jsonb;
    key         jsonb := '{}';
    payload     text;
BEGIN
    IF channel IS NULL OR channel <> ALL (ARRAY[
        'gordon_orders',
        'gordon_fills',
        'gordon_bot_commands',
        'gordon_bot_events',
        'gordon_risk_events',
        'gordon_risk_state'
    ]) THEN
        RAISE EXCEPTION 'ipc_notify_trigger: channel % on %.% is not in the NOTIFY allowlist',
                coalesce(quote_literal(channel), 'NULL'), TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Channels are pinned: add one to the allowlist in a migration, never in place.';
    END IF;
    IF TG_LEVEL <> 'ROW' OR TG_WHEN <> 'AFTER' OR TG_NARGS < 2 THEN
        RAISE EXCEPTION 'ipc_notify_trigger on %.% must be an AFTER ... FOR EACH ROW trigger with a channel and at least one key column',
                TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF TG_OP = 'DELETE' THEN
        row_data := to_jsonb(OLD);
    ELSE
        row_data := to_jsonb(NEW);
    END IF;
    FOR i IN 1 .. TG_NARGS - 1 LOOP
        IF NOT row_data ? TG_ARGV[i] THEN
            RAISE EXCEPTION 'ipc_notify_trigger: %.% has no column %', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[i]
                USING ERRCODE = 'undefined_column';
        END IF;
        key := key || jsonb_build_object(TG_ARGV[i], row_data -> TG_ARGV[i]);
    END LOOP;

    payload := jsonb_build_object(
        'table', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
        'op', TG_OP,
        'key', key)::text;
    -- Keys are short by construction (CHECKed lengths); this guards the 8000-byte cap explicitly.
    IF octet_length(payload) > 1024 THEN
        RAISE EXCEPTION 'ipc_notify_trigger: payload for %.% is % bytes, over 1024', TG_TABLE_SCHEMA, TG_TABLE_NAME,
                octet_length(payload)
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    PERFORM pg_notify(channel, payload);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION trading.ipc_notify_trigger() IS
    'NOTIFY TG_ARGV[0] (allowlisted) with {table, op, key} built from the key columns TG_ARGV[1..].';

CREATE TRIGGER order_intents_notify
    AFTER INSERT ON trading.order_intents
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_orders', 'intent_id');

CREATE TRIGGER order_events_notify
    AFTER INSERT ON trading.order_events
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_orders', 'event_id', 'intent_id');

CREATE TRIGGER fills_notify
    AFTER INSERT ON trading.fills
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_fills', 'fill_id', 'intent_id');

CREATE TRIGGER bot_commands_notify
    AFTER INSERT ON trading.bot_commands
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_bot_commands', 'command_id', 'bot_id');

CREATE TRIGGER bot_events_notify
    AFTER INSERT ON trading.bot_events
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_bot_events', 'event_id', 'bot_id');

CREATE TRIGGER risk_events_notify
    AFTER INSERT ON trading.risk_events
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_risk_events', 'event_id');

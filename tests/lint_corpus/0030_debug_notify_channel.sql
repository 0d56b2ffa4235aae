-- expect: notify-channel
-- hazard: notify channel outside the allowlist
CREATE FUNCTION trading.notify_debug() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog
AS $$ BEGIN PERFORM pg_notify('gordon_debug', NEW.intent_id::text); RETURN NULL; END $$;

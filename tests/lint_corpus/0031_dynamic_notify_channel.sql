-- expect: notify-channel
-- hazard: notify channel outside the allowlist
CREATE FUNCTION trading.notify_table() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog
AS $$ BEGIN PERFORM pg_notify('gordon_' || TG_TABLE_NAME, '{}'); RETURN NULL; END $$;

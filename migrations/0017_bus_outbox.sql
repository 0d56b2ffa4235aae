-- 0017 bus outbox: the transactional outbox of gordon-bus. A service that changes state writes
-- the event announcing it into bus.outbox in the same transaction; gordon_outbox_relay delivers
-- it to the bus afterwards (at least once). Adds the bus schema, the relay role and the
-- gordon_outbox NOTIFY channel that wakes the relay.

CREATE SCHEMA bus;
COMMENT ON SCHEMA bus IS
    'Transactional outbox (owned by gordon-bus): written by the services, delivered by gordon_outbox_relay.';
REVOKE ALL ON SCHEMA bus FROM PUBLIC;

-- The relay's role: cluster-wide, so created idempotently and race-safely, exactly as in 0001
-- (conditional, tolerant of a concurrent creation, end state checked), then normalised as in
-- 0008 should it have existed with more than LOGIN.
DO $relay_role$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'gordon_outbox_relay') THEN
        BEGIN
            CREATE ROLE gordon_outbox_relay LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created at the same moment by the migration of another database
        END;
    END IF;

    IF EXISTS (
        SELECT FROM pg_catalog.pg_roles
        WHERE rolname = 'gordon_outbox_relay'
          AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls OR NOT rolcanlogin)
    ) THEN
        BEGIN
            ALTER ROLE gordon_outbox_relay LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        EXCEPTION WHEN internal_error THEN
            NULL;  -- "tuple concurrently updated": normalised at the same moment elsewhere; checked below
        END;
    END IF;

    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_db_role_setting s
        JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
        WHERE s.setdatabase = 0 AND r.rolname = 'gordon_outbox_relay'
          AND 'search_path=bus' = ANY (s.setconfig)
    ) THEN
        BEGIN
            ALTER ROLE gordon_outbox_relay SET search_path = bus;
        EXCEPTION WHEN unique_violation OR internal_error THEN
            NULL;  -- written at the same moment by another database's migration; checked below
        END;
    END IF;

    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_roles r
        WHERE r.rolname = 'gordon_outbox_relay'
          AND r.rolcanlogin
          AND NOT (r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls)
          AND EXISTS (
              SELECT FROM pg_catalog.pg_db_role_setting s
              WHERE s.setdatabase = 0 AND s.setrole = r.oid AND 'search_path=bus' = ANY (s.setconfig))
    ) THEN
        RAISE EXCEPTION 'role gordon_outbox_relay is missing or could not be normalised (LOGIN only, search_path = bus)'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    IF EXISTS (
        SELECT FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles r ON r.oid = m.member
        WHERE r.rolname = 'gordon_outbox_relay'
    ) THEN
        RAISE EXCEPTION 'runtime role gordon_outbox_relay is a member of another role: a runtime role holds only what the migrations grant it; revoke the membership, then re-run'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    EXECUTE format('GRANT CONNECT ON DATABASE %I TO gordon_outbox_relay', current_database());
END
$relay_role$;

CREATE TABLE bus.outbox (
    outbox_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic           text NOT NULL
                    CHECK (char_length(topic) <= 128 AND topic ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,4}$'),
    aggregate_type  text NOT NULL CHECK (aggregate_type ~ '^[a-z][a-z0-9_]{1,63}$'),
    aggregate_id    text NOT NULL CHECK (char_length(aggregate_id) BETWEEN 1 AND 128),
    payload         jsonb NOT NULL CHECK (octet_length(payload::text) <= 1048576),
    headers         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(headers) = 'object'),
    produced_by     text NOT NULL DEFAULT CURRENT_USER,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    CONSTRAINT outbox_delivery_chronology_check CHECK (delivered_at >= created_at)
);
CREATE INDEX outbox_undelivered_idx ON bus.outbox (outbox_id) WHERE delivered_at IS NULL;
COMMENT ON TABLE bus.outbox IS
    'Events to publish, written in the transaction of the change they announce; delivered in outbox_id order per aggregate.';
COMMENT ON COLUMN bus.outbox.produced_by IS
    'The role that wrote the event: a default producers cannot override (their INSERT grant excludes it).';

-- Producers may write an event, but not its delivery state nor who produced it, and read
-- nothing back. The relay reads everything and may only record delivery.
GRANT USAGE ON SCHEMA bus TO gordon_trading, gordon_bots, gordon_risk, gordon_outbox_relay;
GRANT INSERT (topic, aggregate_type, aggregate_id, payload, headers)
    ON bus.outbox TO gordon_trading, gordon_bots, gordon_risk;
GRANT SELECT ON bus.outbox TO gordon_outbox_relay;
GRANT UPDATE (delivered_at) ON bus.outbox TO gordon_outbox_relay;

-- The allowlist gains gordon_outbox (the relay's wake-up). Same function otherwise.
CREATE OR REPLACE FUNCTION trading.ipc_notify_trigger() RETURNS trigger
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
        'gordon_risk_state',
        'gordon_outbox'
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

CREATE TRIGGER outbox_notify
    AFTER INSERT ON bus.outbox
    FOR EACH ROW EXECUTE FUNCTION trading.ipc_notify_trigger('gordon_outbox', 'outbox_id', 'topic');

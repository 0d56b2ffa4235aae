-- 0008 roles and grants: the security file. Role attributes, what each service may do on every
-- object of the Gordon schemas, what PUBLIC may not do, and row-level security.
--
-- The grant matrix is the security contract, stated for auditors in docs/schema.md and pinned
-- by the drift fixtures. Rules:
--   * PUBLIC gets nothing in the Gordon schemas (no USAGE, no CREATE, no EXECUTE).
--   * No runtime role can CREATE in any schema or owns any object: everything is owned by the
--     role that migrates (never named here; ALTER DEFAULT PRIVILEGES applies to current_user).
--   * Every table or view gets explicit grants in the migration that creates it. There are
--     deliberately no default privileges that grant to runtime roles: a patch that forgets its
--     grants leaves its table unreachable (and fails tests/test_schema_catalog.py), rather than
--     silently granting more than intended.
--   * Identity columns need no sequence privilege (their nextval is not permission-checked),
--     so no role is granted anything on a sequence.
--   * gordon_drift_reader holds no privilege on any Gordon object: the catalogs it reads are
--     readable by any role that can connect.

-- ---------------------------------------------------------------------------------------------
-- Roles. 0001 created them (LOGIN, nothing else). A role that existed before (roles are
-- cluster-wide) is normalised here: any superuser, createdb, createrole, replication or
-- bypassrls attribute is removed. Its password, if any, is left alone. A role that is a member
-- of another role would inherit privileges this file cannot see: that fails the migration.
-- Conditional, so a normalised cluster sees no catalog write (no race between databases).
-- ---------------------------------------------------------------------------------------------
DO $normalise$
DECLARE
    runtime_role text;
    parent text;
BEGIN
    FOREACH runtime_role IN ARRAY ARRAY[
        'gordon_api', 'gordon_bots', 'gordon_drift_reader', 'gordon_ingest', 'gordon_risk', 'gordon_trading'
    ] LOOP
        IF EXISTS (
            SELECT FROM pg_catalog.pg_roles
            WHERE rolname = runtime_role
              AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls OR NOT rolcanlogin)
        ) THEN
            BEGIN
                EXECUTE format(
                    'ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                    runtime_role);
            EXCEPTION WHEN internal_error THEN
                NULL;  -- "tuple concurrently updated": normalised at the same moment elsewhere; checked below
            END;
        END IF;

        IF NOT EXISTS (
            SELECT FROM pg_catalog.pg_roles
            WHERE rolname = runtime_role
              AND rolcanlogin
              AND NOT (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)
        ) THEN
            RAISE EXCEPTION 'runtime role % is missing or could not be normalised to LOGIN without any other attribute (superuser, createdb, createrole, replication, bypassrls)', runtime_role
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;

        SELECT g.rolname INTO parent
        FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
        JOIN pg_catalog.pg_roles r ON r.oid = m.member
        WHERE r.rolname = runtime_role
        ORDER BY g.rolname
        LIMIT 1;
        IF parent IS NOT NULL THEN
            RAISE EXCEPTION 'runtime role % is a member of role %: a runtime role holds only what the migrations grant it; REVOKE % FROM %, then re-run',
                    runtime_role, parent, quote_ident(parent), quote_ident(runtime_role)
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END LOOP;
END
$normalise$;

-- CONNECT is granted explicitly so provisioning may revoke it from PUBLIC on the database.
-- (Database-level ACLs are not copied by CREATE DATABASE ... TEMPLATE; see docs/schema.md.)
DO $connect$
BEGIN
    EXECUTE format(
        'GRANT CONNECT ON DATABASE %I TO gordon_ingest, gordon_trading, gordon_bots, gordon_risk, gordon_api, gordon_drift_reader',
        current_database());
END
$connect$;

-- ---------------------------------------------------------------------------------------------
-- PUBLIC gets nothing.
-- ---------------------------------------------------------------------------------------------
REVOKE ALL ON SCHEMA market_data FROM PUBLIC;
REVOKE ALL ON SCHEMA trading FROM PUBLIC;
-- Already the default since PostgreSQL 15; explicit for databases created from an older template.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- Functions are executable by PUBLIC by default. Trigger functions need no EXECUTE privilege to
-- fire, so nobody needs it. Per-schema default privileges cannot remove a global default, hence
-- the global form (for functions created by the migrating role in this database).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA trading FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA market_data FROM PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Schema usage. Nobody gets CREATE.
-- ---------------------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA market_data TO gordon_ingest, gordon_trading, gordon_bots, gordon_risk, gordon_api;
GRANT USAGE ON SCHEMA trading TO gordon_trading, gordon_bots, gordon_risk, gordon_api;

-- ---------------------------------------------------------------------------------------------
-- market_data: gordon_ingest writes, gordon_trading reads the tables (backtests need full
-- history). gordon_bots, gordon_risk and gordon_api read the reader views of 0009 only.
-- ---------------------------------------------------------------------------------------------
-- Instruments: ingest refreshes venue metadata but never re-keys an instrument (venue, symbol,
-- kind and assets are its identity): UPDATE is column-level.
GRANT SELECT, INSERT ON market_data.instruments TO gordon_ingest;
GRANT UPDATE (tick_size, lot_size, min_notional, is_active, listed_at, expires_at, updated_at)
    ON market_data.instruments TO gordon_ingest;
GRANT SELECT ON market_data.instruments TO gordon_trading;

-- The forming candle is upserted until it closes; its key (instrument, interval, open time)
-- never changes.
GRANT SELECT, INSERT ON market_data.candles TO gordon_ingest;
GRANT UPDATE (close_time, open, high, low, close, volume, quote_volume, trade_count, is_closed, ingested_at)
    ON market_data.candles TO gordon_ingest;
GRANT SELECT ON market_data.candles TO gordon_trading;

GRANT SELECT, INSERT ON market_data.trade_prints TO gordon_ingest;
GRANT SELECT ON market_data.trade_prints TO gordon_trading;

GRANT SELECT, INSERT ON market_data.book_tops TO gordon_ingest;
GRANT SELECT ON market_data.book_tops TO gordon_trading;

GRANT SELECT, INSERT ON market_data.funding_rates TO gordon_ingest;
GRANT SELECT ON market_data.funding_rates TO gordon_trading;

-- ---------------------------------------------------------------------------------------------
-- trading core and orders: gordon_trading writes; gordon_risk and gordon_api read.
-- Append-only logs (order_events, fills, equity) get no UPDATE; nothing gets DELETE.
-- ---------------------------------------------------------------------------------------------
GRANT SELECT, INSERT, UPDATE ON trading.runs TO gordon_trading;
GRANT SELECT ON trading.runs TO gordon_risk, gordon_api;

GRANT SELECT, INSERT, UPDATE ON trading.roundtrips TO gordon_trading;
GRANT SELECT ON trading.roundtrips TO gordon_risk, gordon_api;

GRANT SELECT, INSERT ON trading.equity TO gordon_trading;
GRANT SELECT ON trading.equity TO gordon_risk, gordon_api;

GRANT SELECT, INSERT, UPDATE ON trading.pipeline_state TO gordon_trading;
GRANT SELECT ON trading.pipeline_state TO gordon_risk, gordon_api;

GRANT SELECT, INSERT, UPDATE ON trading.order_intents TO gordon_trading;
GRANT SELECT ON trading.order_intents TO gordon_risk, gordon_api;

GRANT SELECT, INSERT ON trading.order_events TO gordon_trading;
GRANT SELECT ON trading.order_events TO gordon_risk, gordon_api;

GRANT SELECT, INSERT ON trading.fills TO gordon_trading;
GRANT SELECT ON trading.fills TO gordon_risk, gordon_api;

-- A trade is linked to its roundtrip when the roundtrip closes; nothing else of it changes.
GRANT SELECT, INSERT ON trading.trades TO gordon_trading;
GRANT UPDATE (roundtrip_id) ON trading.trades TO gordon_trading;
GRANT SELECT ON trading.trades TO gordon_risk, gordon_api;

-- ---------------------------------------------------------------------------------------------
-- Bots. Configs are maintained by operators (the migrating/owner role), not by a service.
-- The venue credentials (venue_api_key, venue_api_secret) are readable by gordon_trading only,
-- which signs orders: everyone else gets a column list without them.
-- ---------------------------------------------------------------------------------------------
GRANT SELECT ON trading.bot_configs TO gordon_trading;
GRANT SELECT (bot_id, display_name, strategy, instrument_id, mode, enabled, disabled_reason, params,
              max_position_notional, venue_account, created_at, updated_at)
    ON trading.bot_configs TO gordon_bots, gordon_risk, gordon_api;
-- The risk service can switch a bot off (and back on), and nothing else of its configuration.
GRANT UPDATE (enabled, disabled_reason, updated_at) ON trading.bot_configs TO gordon_risk;

-- Commands are issued by the engine (lifecycle) and the risk service (pause, flatten); the bot
-- only moves its own commands through acknowledged/completed/failed.
GRANT SELECT, INSERT ON trading.bot_commands TO gordon_trading, gordon_risk;
GRANT SELECT ON trading.bot_commands TO gordon_bots, gordon_api;
GRANT UPDATE (status, acknowledged_at, completed_at, result) ON trading.bot_commands TO gordon_bots;

GRANT SELECT, INSERT ON trading.bot_events TO gordon_bots;
GRANT SELECT ON trading.bot_events TO gordon_trading, gordon_risk, gordon_api;

GRANT SELECT, INSERT, UPDATE, DELETE ON trading.bot_leases TO gordon_bots;
GRANT SELECT ON trading.bot_leases TO gordon_trading, gordon_risk, gordon_api;

GRANT SELECT, INSERT, UPDATE ON trading.bot_positions TO gordon_bots;
GRANT SELECT ON trading.bot_positions TO gordon_trading, gordon_risk, gordon_api;

-- ---------------------------------------------------------------------------------------------
-- Risk. Limits are versioned (INSERT, never UPDATE); the audit trail is append-only; the state
-- singleton is UPDATEd by the risk service only (nobody may INSERT or DELETE it).
-- ---------------------------------------------------------------------------------------------
GRANT SELECT, INSERT ON trading.risk_config TO gordon_risk;
GRANT SELECT ON trading.risk_config TO gordon_trading, gordon_api;

GRANT SELECT, INSERT ON trading.risk_events TO gordon_risk;
GRANT SELECT ON trading.risk_events TO gordon_api;

GRANT SELECT, INSERT ON trading.risk_audit TO gordon_risk;
GRANT SELECT ON trading.risk_audit TO gordon_api;

GRANT SELECT, UPDATE ON trading.risk_state TO gordon_risk;
GRANT SELECT ON trading.risk_state TO gordon_trading, gordon_bots, gordon_api;

-- ---------------------------------------------------------------------------------------------
-- Row-level security: rows that belong to a bot or to a runner worker.
--
-- gordon_bots sees and writes only the rows of the bot named by the session setting
-- gordon.bot_id (SET LOCAL gordon.bot_id = '...' per transaction), and only the leases of the
-- worker named by gordon.worker_id. Unset or empty means no row. This bounds the blast radius of
-- a bug in the runner (one bot cannot touch another's commands or positions); it is not an
-- authentication boundary, since the role chooses its own setting.
-- The other roles get explicit policies matching their grants. The owner (migrating role) is
-- not subject to RLS (no FORCE), so operators and migrations see every row.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE trading.bot_configs ENABLE ROW LEVEL SECURITY;
CREATE POLICY bot_configs_own_bot ON trading.bot_configs
    FOR SELECT TO gordon_bots
    USING (bot_id = current_setting('gordon.bot_id', true));
CREATE POLICY bot_configs_read_all ON trading.bot_configs
    FOR SELECT TO gordon_trading, gordon_risk, gordon_api
    USING (true);
CREATE POLICY bot_configs_risk_switch ON trading.bot_configs
    FOR UPDATE TO gordon_risk
    USING (true) WITH CHECK (true);

ALTER TABLE trading.bot_commands ENABLE ROW LEVEL SECURITY;
CREATE POLICY bot_commands_own_bot ON trading.bot_commands
    FOR ALL TO gordon_bots
    USING (bot_id = current_setting('gordon.bot_id', true))
    WITH CHECK (bot_id = current_setting('gordon.bot_id', true));
CREATE POLICY bot_commands_read_all ON trading.bot_commands
    FOR SELECT TO gordon_trading, gordon_risk, gordon_api
    USING (true);
CREATE POLICY bot_commands_issue ON trading.bot_commands
    FOR INSERT TO gordon_trading, gordon_risk
    WITH CHECK (true);

ALTER TABLE trading.bot_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY bot_events_own_bot ON trading.bot_events
    FOR ALL TO gordon_bots
    USING (bot_id = current_setting('gordon.bot_id', true))
    WITH CHECK (bot_id = current_setting('gordon.bot_id', true));
CREATE POLICY bot_events_read_all ON trading.bot_events
    FOR SELECT TO gordon_trading, gordon_risk, gordon_api
    USING (true);

ALTER TABLE trading.bot_positions ENABLE ROW LEVEL SECURITY;
CREATE POLICY bot_positions_own_bot ON trading.bot_positions
    FOR ALL TO gordon_bots
    USING (bot_id = current_setting('gordon.bot_id', true))
    WITH CHECK (bot_id = current_setting('gordon.bot_id', true));
CREATE POLICY bot_positions_read_all ON trading.bot_positions
    FOR SELECT TO gordon_trading, gordon_risk, gordon_api
    USING (true);

-- Leases: every runner worker sees every lease (to find free bots); it may take a lease only for
-- itself, renew or release only its own, and take over another worker's only once expired.
ALTER TABLE trading.bot_leases ENABLE ROW LEVEL SECURITY;
CREATE POLICY bot_leases_read_all ON trading.bot_leases
    FOR SELECT TO gordon_bots, gordon_trading, gordon_risk, gordon_api
    USING (true);
CREATE POLICY bot_leases_acquire ON trading.bot_leases
    FOR INSERT TO gordon_bots
    WITH CHECK (worker_id = current_setting('gordon.worker_id', true));
CREATE POLICY bot_leases_renew_or_take_over ON trading.bot_leases
    FOR UPDATE TO gordon_bots
    USING (worker_id = current_setting('gordon.worker_id', true) OR expires_at < now())
    WITH CHECK (worker_id = current_setting('gordon.worker_id', true));
CREATE POLICY bot_leases_release ON trading.bot_leases
    FOR DELETE TO gordon_bots
    USING (worker_id = current_setting('gordon.worker_id', true));

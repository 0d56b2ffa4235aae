-- 0001 schemas: the Gordon schemas, and the runtime roles with their search_path.
--
-- Roles are cluster-wide. One cluster hosts several databases (production, per-test clones,
-- concurrent test databases), so a role may already exist when this runs, or be created at
-- the same moment by a migration of another database of the cluster. Every role step below is
-- therefore conditional (no catalog write at all when the role is already as wanted), tolerates
-- losing that race, and is followed by a check of the end state that fails loudly.
--
-- The roles are created here rather than in 0008 because "ALTER ROLE ... SET search_path" needs
-- them to exist. They are created with the attributes 0008 enforces (LOGIN and nothing else);
-- until 0008 runs they hold no privilege on any Gordon object. 0008, the security file,
-- normalises roles that existed before and grants what each service may do.
--
-- search_path is set cluster-wide (ALTER ROLE x SET), never per database: a per-database
-- setting (ALTER ROLE x IN DATABASE d SET) lives in pg_db_role_setting keyed by the database
-- oid and is not copied by CREATE DATABASE ... TEMPLATE, so test clones would silently lose it.
--
-- No password is ever set by a migration: passwords are provisioned out of band.

CREATE SCHEMA market_data;
COMMENT ON SCHEMA market_data IS
    'Market data: instruments and the venue feeds written by gordon_ingest; readers use the views of 0009.';

CREATE SCHEMA trading;
COMMENT ON SCHEMA trading IS
    'Trading: runs, orders, fills, bots and risk. The services each hold the grants of 0008 and later patches.';

DO $roles$
DECLARE
    wanted record;
BEGIN
    FOR wanted IN
        SELECT role_name, search_path
        FROM (VALUES
            ('gordon_ingest',       'market_data'),
            ('gordon_trading',      'trading, market_data'),
            ('gordon_bots',         'trading, market_data'),
            ('gordon_risk',         'trading, market_data'),
            ('gordon_api',          'trading, market_data'),
            ('gordon_drift_reader', 'pg_catalog')
        ) AS roles (role_name, search_path)
        ORDER BY role_name  -- one order for every database's migration: no lock cycle between them
    LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = wanted.role_name) THEN
            BEGIN
                EXECUTE format(
                    'CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                    wanted.role_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created at the same moment by the migration of another database
            END;
        END IF;

        IF NOT EXISTS (
            SELECT FROM pg_catalog.pg_db_role_setting s
            JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
            WHERE s.setdatabase = 0
              AND r.rolname = wanted.role_name
              AND 'search_path=' || wanted.search_path = ANY (s.setconfig)
        ) THEN
            BEGIN
                EXECUTE format('ALTER ROLE %I SET search_path = %s', wanted.role_name, wanted.search_path);
            EXCEPTION WHEN unique_violation OR internal_error THEN
                -- Another database's migration wrote this role's settings at the same moment:
                -- unique_violation when both inserted its first setting, internal_error
                -- ("tuple concurrently updated") when both updated it. Checked just below.
                NULL;
            END;
        END IF;

        IF NOT EXISTS (
            SELECT FROM pg_catalog.pg_db_role_setting s
            JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
            WHERE s.setdatabase = 0
              AND r.rolname = wanted.role_name
              AND 'search_path=' || wanted.search_path = ANY (s.setconfig)
        ) THEN
            RAISE EXCEPTION 'role % could not be given search_path = %', wanted.role_name, wanted.search_path
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END LOOP;
END
$roles$;

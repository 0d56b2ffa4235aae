-- expect: (none)
-- hazard: force rls removes the owner bypass later migrations rely on
-- shape: launchql/postgres-ast-deparser packages/dbs_rls/deploy/schemas/collections_public/tables/primary_key_constraint/policies/enable_row_level_security.sql
-- FORCE applies the policies of 0008 to the owner too: every later backfill of bot_configs by
-- the migrating role sees no row (no policy names it), and updates nothing without an error.
ALTER TABLE trading.bot_configs FORCE ROW LEVEL SECURITY;

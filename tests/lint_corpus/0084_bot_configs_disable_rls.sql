-- expect: (none)
-- hazard: disabling rls widens what a runtime role reads
-- shape: launchql/postgres-ast-deparser packages/launchql-rls/deploy/schemas/collections_public/tables/procedure/policies/enable_row_level_security.sql (the reverse)
-- Each bot may read only its own config (policy bot_configs_own_bot): without RLS, every bot
-- reads every other bot's parameters.
ALTER TABLE trading.bot_configs DISABLE ROW LEVEL SECURITY;

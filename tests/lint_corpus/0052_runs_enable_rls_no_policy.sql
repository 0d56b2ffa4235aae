-- expect: (none)
-- hazard: rls enabled without a policy for its readers
-- shape: launchql/postgres-ast-deparser packages/webql-roles/deploy/schemas/roles_private/tables/user_secrets/policies/enable_row_level_security.sql
-- Runs per bot are about to be scoped; the policies were to follow "in the next PR". Until then
-- gordon_trading, gordon_risk and gordon_api silently read zero rows of trading.runs.
ALTER TABLE trading.runs ENABLE ROW LEVEL SECURITY;

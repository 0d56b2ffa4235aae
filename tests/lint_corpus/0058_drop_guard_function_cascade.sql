-- expect: (none)
-- hazard: drop function cascade drops the triggers using it
-- shape: chef/automate components/authz-service/storage/postgres/migration/sql/74_pre_force_upgrade.up.sql (DROP TRIGGER then DROP FUNCTION; here one DROP FUNCTION ... CASCADE)
-- Meant to be replaced by a new guard; CASCADE silently drops risk_state_no_delete and
-- risk_state_no_truncate.
DROP FUNCTION trading.risk_state_guard() CASCADE;

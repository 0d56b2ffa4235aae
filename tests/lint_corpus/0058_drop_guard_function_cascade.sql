-- expect: (none)
-- hazard: drop function cascade drops the triggers using it
-- shape: discourse/discourse db/post_migrate/20180917034056_remove_superfluous_tables.rb (drop with CASCADE of what depends on it)
-- Meant to be replaced by a new guard; CASCADE silently drops risk_state_no_delete and
-- risk_state_no_truncate.
DROP FUNCTION trading.risk_state_guard() CASCADE;

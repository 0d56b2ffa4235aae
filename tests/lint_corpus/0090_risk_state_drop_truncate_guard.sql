-- expect: (none)
-- hazard: dropping a guard trigger
-- shape: lter/LTER-core-metabase sql/36_enable_triggers.sql (trigger maintenance in a migration)
DROP TRIGGER risk_state_no_truncate ON trading.risk_state;

-- expect: (none)
-- hazard: disable trigger on a guard trigger
-- shape: lter/LTER-core-metabase sql/36_enable_triggers.sql (disable, load, re-enable; here the re-enable is missing)
-- Disabled "to let ops reset the singleton"; the row can now be deleted and trading has no
-- risk mode at all.
ALTER TABLE trading.risk_state DISABLE TRIGGER risk_state_no_delete;

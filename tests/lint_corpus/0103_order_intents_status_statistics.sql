-- expect: (none)
-- hazard: none
-- shape: gitlabhq/gitlabhq doc/development/migration_style_guide.md (planner tuning in a migration)
-- SHARE UPDATE EXCLUSIVE: no reader or writer waits.
ALTER TABLE trading.order_intents ALTER COLUMN status SET STATISTICS 1000;

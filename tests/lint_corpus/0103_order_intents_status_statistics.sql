-- expect: (none)
-- hazard: none
-- shape: eulerto/pgquarrel test/from-table.sql (ALTER COLUMN ... SET STATISTICS, a schema-diff fixture)
-- SHARE UPDATE EXCLUSIVE: no reader or writer waits.
ALTER TABLE trading.order_intents ALTER COLUMN status SET STATISTICS 1000;

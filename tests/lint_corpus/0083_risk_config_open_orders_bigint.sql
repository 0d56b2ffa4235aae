-- expect: alter-column-type
-- hazard: type change rewrites the table
-- shape: gitlabhq/gitlabhq doc/development/migration_style_guide.md (integer to bigint conversion)
ALTER TABLE trading.risk_config ALTER COLUMN max_open_orders TYPE bigint;

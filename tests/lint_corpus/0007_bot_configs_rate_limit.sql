-- expect: (none)
-- hazard: none
-- A constant default is stored in the catalog (PostgreSQL 11+): no rewrite.
ALTER TABLE trading.bot_configs ADD COLUMN max_orders_per_minute integer NOT NULL DEFAULT 60;

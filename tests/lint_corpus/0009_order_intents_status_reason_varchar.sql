-- expect: alter-column-type
-- hazard: type change rewrites the table
ALTER TABLE trading.order_intents ALTER COLUMN status_reason TYPE varchar(200);

-- expect: alter-column-type
ALTER TABLE trading.order_intents ALTER COLUMN status_reason TYPE varchar(200);

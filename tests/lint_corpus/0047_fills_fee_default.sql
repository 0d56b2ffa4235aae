-- expect: (none)
-- hazard: none
ALTER TABLE trading.fills ALTER COLUMN fee SET DEFAULT 0;

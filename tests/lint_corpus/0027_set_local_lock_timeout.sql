-- expect: timeout-override
-- hazard: lock_timeout raised inside the migration (readers queue up to 2 s behind the ALTER, not 100 ms)
SET LOCAL lock_timeout = '2s';
ALTER TABLE trading.runs ADD COLUMN notes text;

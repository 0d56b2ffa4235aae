-- expect: timeout-override
SET LOCAL lock_timeout = '2s';
ALTER TABLE trading.runs ADD COLUMN notes text;

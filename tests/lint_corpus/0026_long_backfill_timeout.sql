-- expect: timeout-override
-- hazard: session setting leaks past the migration
SET statement_timeout = 0;
UPDATE trading.order_intents SET status_reason = 'expired' WHERE status = 'expired' AND status_reason IS NULL;

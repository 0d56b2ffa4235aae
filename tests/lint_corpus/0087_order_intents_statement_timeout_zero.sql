-- expect: timeout-override
-- hazard: statement timeout set to 0 inside a migration
-- shape: windorg/app-old Application/Fixtures.sql (SET statement_timeout = 0), scoped with LOCAL
SET LOCAL statement_timeout = 0;
UPDATE trading.order_intents SET status_reason = 'expired by venue'
WHERE status = 'expired' AND status_reason IS NULL;

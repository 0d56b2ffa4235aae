-- expect: (none)
-- hazard: none
-- Bounded backfill: only the rows that need it.
UPDATE trading.order_intents
SET status_reason = 'legacy rejection'
WHERE status = 'rejected' AND status_reason IS NULL;

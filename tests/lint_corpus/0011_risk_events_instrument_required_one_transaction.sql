-- expect: validate-in-same-transaction
-- hazard: validate under the add's access exclusive lock
-- Looks like the textbook sequence, but it is one transaction: the ADD's ACCESS EXCLUSIVE lock
-- is still held while VALIDATE scans (squawk does not see it). The VALIDATE belongs in the
-- next migration.
ALTER TABLE trading.risk_events
    ADD CONSTRAINT risk_events_instrument_id_not_null CHECK (instrument_id IS NOT NULL) NOT VALID;
ALTER TABLE trading.risk_events VALIDATE CONSTRAINT risk_events_instrument_id_not_null;
ALTER TABLE trading.risk_events ALTER COLUMN instrument_id SET NOT NULL;
ALTER TABLE trading.risk_events DROP CONSTRAINT risk_events_instrument_id_not_null;

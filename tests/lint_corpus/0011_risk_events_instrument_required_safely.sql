-- expect: (none)
-- The safe sequence: NOT VALID check, validate, then SET NOT NULL skips its scan.
ALTER TABLE trading.risk_events
    ADD CONSTRAINT risk_events_instrument_id_not_null CHECK (instrument_id IS NOT NULL) NOT VALID;
ALTER TABLE trading.risk_events VALIDATE CONSTRAINT risk_events_instrument_id_not_null;
ALTER TABLE trading.risk_events ALTER COLUMN instrument_id SET NOT NULL;
ALTER TABLE trading.risk_events DROP CONSTRAINT risk_events_instrument_id_not_null;

-- expect: set-not-null-without-check
ALTER TABLE trading.risk_events ALTER COLUMN instrument_id SET NOT NULL;

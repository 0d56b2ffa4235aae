-- expect: set-not-null-without-check
-- hazard: set not null scans under access exclusive
ALTER TABLE trading.risk_events ALTER COLUMN instrument_id SET NOT NULL;

-- 0020 risk events acknowledgement: a critical risk event pages the on-call operator until it is
-- acknowledged (through the risk service). The event itself stays immutable: the risk service
-- may update the acknowledgement columns and nothing else.

ALTER TABLE trading.risk_events
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN acknowledged_by text CHECK (char_length(acknowledged_by) BETWEEN 1 AND 128),
    ADD CONSTRAINT risk_events_acknowledgement_pair_check
        CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
    ADD CONSTRAINT risk_events_acknowledgement_chronology_check CHECK (acknowledged_at >= occurred_at);

GRANT UPDATE (acknowledged_at, acknowledged_by) ON trading.risk_events TO gordon_risk;

CREATE INDEX risk_events_unacknowledged_idx
    ON trading.risk_events (occurred_at)
    WHERE acknowledged_at IS NULL AND severity = 'critical';

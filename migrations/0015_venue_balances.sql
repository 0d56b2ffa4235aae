-- 0015 venue balances: balance snapshots of each venue account, polled by the engine for
-- reconciliation and read by the risk service for exposure checks.

CREATE TABLE trading.venue_balances (
    venue           text NOT NULL CHECK (venue ~ '^[a-z][a-z0-9_]{1,31}$'),
    venue_account   text NOT NULL CHECK (venue_account ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    asset           text NOT NULL CHECK (asset ~ '^[A-Z0-9]{1,20}$'),
    captured_at     timestamptz NOT NULL,
    free            numeric(38,18) NOT NULL CHECK (free >= 0),
    locked          numeric(38,18) NOT NULL CHECK (locked >= 0),
    CONSTRAINT venue_balances_pkey PRIMARY KEY (venue, venue_account, asset, captured_at)
);
COMMENT ON TABLE trading.venue_balances IS 'Balance snapshots per venue account and asset.';

GRANT SELECT, INSERT ON trading.venue_balances TO gordon_trading;
GRANT SELECT ON trading.venue_balances TO gordon_risk, gordon_api;

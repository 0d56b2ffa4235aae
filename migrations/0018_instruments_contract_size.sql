-- 0018 instruments contract size: derivatives are quoted in contracts; notional is
-- quantity * price * contract_size. Spot instruments keep the default of 1.

ALTER TABLE market_data.instruments
    ADD COLUMN contract_size numeric(30,12) NOT NULL DEFAULT 1 CHECK (contract_size > 0);

-- Venue metadata the ingest service keeps current, like tick and lot sizes.
GRANT UPDATE (contract_size) ON market_data.instruments TO gordon_ingest;

-- Readers see it through the directory view (columns may only be appended to a view).
CREATE OR REPLACE VIEW market_data.instrument_directory AS
SELECT instrument_id, venue, symbol, kind, base_asset, quote_asset,
       tick_size, lot_size, min_notional, is_active, listed_at, expires_at,
       contract_size
FROM market_data.instruments;

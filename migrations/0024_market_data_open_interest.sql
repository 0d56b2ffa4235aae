-- 0024 market data open interest: open interest of derivative instruments, sampled by the
-- ingest service; the engine's positioning signals read it.

CREATE TABLE market_data.open_interest (
    instrument_id       bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    captured_at         timestamptz NOT NULL,
    open_interest       numeric(38,18) NOT NULL CHECK (open_interest >= 0),
    open_interest_value numeric(28,10) CHECK (open_interest_value >= 0),
    ingested_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT open_interest_pkey PRIMARY KEY (instrument_id, captured_at)
);
COMMENT ON TABLE market_data.open_interest IS 'Open interest samples of derivative instruments.';

GRANT SELECT, INSERT ON market_data.open_interest TO gordon_ingest;
GRANT SELECT ON market_data.open_interest TO gordon_trading;

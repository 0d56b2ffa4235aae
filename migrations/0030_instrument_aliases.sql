-- 0030 instrument aliases: the same instrument is named differently by each data source (venue
-- REST and websocket feeds, the backtest archive). The ingest service maps source names to
-- instruments through this table.

CREATE TABLE market_data.instrument_aliases (
    source          text NOT NULL CHECK (source ~ '^[a-z][a-z0-9_]{1,31}$'),
    alias           text NOT NULL CHECK (char_length(alias) BETWEEN 1 AND 64),
    instrument_id   bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT instrument_aliases_pkey PRIMARY KEY (source, alias)
);
CREATE INDEX instrument_aliases_instrument_id_idx ON market_data.instrument_aliases (instrument_id);
COMMENT ON TABLE market_data.instrument_aliases IS 'Source-specific names of instruments.';

-- Ingest maintains the mapping (a renamed alias is deleted and re-inserted); the engine resolves
-- archive names through it.
GRANT SELECT, INSERT, DELETE ON market_data.instrument_aliases TO gordon_ingest;
GRANT SELECT ON market_data.instrument_aliases TO gordon_trading;

-- 0003 trading core: runs, roundtrips, equity curve and pipeline state.

CREATE TABLE trading.runs (
    run_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    strategy            text NOT NULL CHECK (strategy ~ '^[a-z][a-z0-9_]{1,63}$'),
    strategy_version    text NOT NULL CHECK (char_length(strategy_version) BETWEEN 1 AND 64),
    mode                text NOT NULL CHECK (mode IN ('backtest', 'paper', 'live')),
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'aborted')),
    quote_asset         text NOT NULL CHECK (quote_asset ~ '^[A-Z0-9]{1,20}$'),
    initial_equity      numeric(28,10) NOT NULL CHECK (initial_equity > 0),
    params              jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    ended_at            timestamptz,
    failure_reason      text CHECK (char_length(failure_reason) <= 4000),
    CONSTRAINT runs_started_check CHECK ((status = 'pending') = (started_at IS NULL)),
    CONSTRAINT runs_ended_check CHECK ((status IN ('completed', 'failed', 'aborted')) = (ended_at IS NOT NULL)),
    CONSTRAINT runs_chronology_check CHECK (started_at >= created_at AND ended_at >= started_at),
    CONSTRAINT runs_failed_has_reason_check CHECK (status <> 'failed' OR failure_reason IS NOT NULL)
);
COMMENT ON TABLE trading.runs IS 'One execution of a strategy: a backtest, a paper run or a live run.';

CREATE TABLE trading.roundtrips (
    roundtrip_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          bigint NOT NULL REFERENCES trading.runs (run_id),
    instrument_id   bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    direction       text NOT NULL CHECK (direction IN ('long', 'short')),
    quantity        numeric(38,18) NOT NULL CHECK (quantity > 0),
    entry_price     numeric(30,12) NOT NULL CHECK (entry_price > 0),
    exit_price      numeric(30,12) CHECK (exit_price > 0),
    opened_at       timestamptz NOT NULL,
    closed_at       timestamptz,
    realized_pnl    numeric(28,10),
    fees            numeric(28,10) NOT NULL DEFAULT 0,
    CONSTRAINT roundtrips_close_consistency_check
        CHECK ((closed_at IS NULL) = (exit_price IS NULL) AND (closed_at IS NULL) = (realized_pnl IS NULL)),
    CONSTRAINT roundtrips_chronology_check CHECK (closed_at >= opened_at)
);
CREATE INDEX roundtrips_run_id_idx ON trading.roundtrips (run_id, opened_at);
CREATE INDEX roundtrips_instrument_id_idx ON trading.roundtrips (instrument_id);
COMMENT ON TABLE trading.roundtrips IS
    'A position from open to flat: open while closed_at is null, then exit price and realized PnL are set.';

CREATE TABLE trading.equity (
    run_id          bigint NOT NULL REFERENCES trading.runs (run_id),
    recorded_at     timestamptz NOT NULL,
    equity          numeric(28,10) NOT NULL,
    cash            numeric(28,10) NOT NULL,
    unrealized_pnl  numeric(28,10) NOT NULL DEFAULT 0,
    CONSTRAINT equity_pkey PRIMARY KEY (run_id, recorded_at)
);
COMMENT ON TABLE trading.equity IS 'Equity curve of a run, one point per recorded_at.';

CREATE TABLE trading.pipeline_state (
    run_id              bigint NOT NULL REFERENCES trading.runs (run_id),
    stage               text NOT NULL
                        CHECK (stage IN ('market_sync', 'signal', 'sizing', 'execution', 'reconcile')),
    status              text NOT NULL DEFAULT 'idle'
                        CHECK (status IN ('idle', 'running', 'paused', 'failed')),
    last_processed_at   timestamptz,
    checkpoint          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(checkpoint) = 'object'),
    last_error          text CHECK (char_length(last_error) <= 4000),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pipeline_state_pkey PRIMARY KEY (run_id, stage),
    CONSTRAINT pipeline_state_failed_check CHECK (status <> 'failed' OR last_error IS NOT NULL)
);
COMMENT ON TABLE trading.pipeline_state IS
    'Where each stage of a run''s pipeline stands: status, high-water mark and checkpoint for restart.';

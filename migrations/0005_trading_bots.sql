-- 0005 trading bots: the bot lifecycle (configs, commands, events, leases, positions).
--
-- A bot is a long-running strategy instance driven by the bot runner. Rows of these tables belong
-- to one bot (bot_id) or, for leases, to the runner worker holding it; 0008 scopes gordon_bots to
-- those rows with row-level security.

CREATE TABLE trading.bot_configs (
    bot_id                  text PRIMARY KEY CHECK (bot_id ~ '^[a-z][a-z0-9-]{2,62}$'),
    display_name            text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 128),
    strategy                text NOT NULL CHECK (strategy ~ '^[a-z][a-z0-9_]{1,63}$'),
    instrument_id           bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    mode                    text NOT NULL CHECK (mode IN ('paper', 'live')),
    enabled                 boolean NOT NULL DEFAULT false,
    disabled_reason         text CHECK (char_length(disabled_reason) <= 1000),
    params                  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
    max_position_notional   numeric(28,10) NOT NULL CHECK (max_position_notional > 0),
    venue_account           text NOT NULL CHECK (venue_account ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    venue_api_key           text CHECK (char_length(venue_api_key) BETWEEN 16 AND 256),
    venue_api_secret        bytea CHECK (octet_length(venue_api_secret) BETWEEN 16 AND 1024),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bot_configs_credentials_pair_check
        CHECK ((venue_api_key IS NULL) = (venue_api_secret IS NULL)),
    CONSTRAINT bot_configs_live_credentials_check
        CHECK (mode <> 'live' OR venue_api_key IS NOT NULL)
);
CREATE INDEX bot_configs_instrument_id_idx ON trading.bot_configs (instrument_id);
COMMENT ON TABLE trading.bot_configs IS
    'Bot configuration, maintained by operators. venue_api_key / venue_api_secret are secret-bearing.';
COMMENT ON COLUMN trading.bot_configs.venue_api_key IS
    'SECRET. Venue API key id. Readable by gordon_trading only (column grants, 0008).';
COMMENT ON COLUMN trading.bot_configs.venue_api_secret IS
    'SECRET. Venue API secret, envelope-encrypted by the secrets service (ciphertext). Readable by gordon_trading only.';

CREATE TABLE trading.bot_commands (
    command_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bot_id          text NOT NULL REFERENCES trading.bot_configs (bot_id),
    command         text NOT NULL
                    CHECK (command IN ('start', 'stop', 'pause', 'resume', 'flatten', 'reload_config')),
    args            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(args) = 'object'),
    issued_by       text NOT NULL CHECK (char_length(issued_by) BETWEEN 1 AND 128),
    issued_at       timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'acknowledged', 'completed', 'failed')),
    acknowledged_at timestamptz,
    completed_at    timestamptz,
    result          text CHECK (char_length(result) <= 4000),
    CONSTRAINT bot_commands_acknowledged_check CHECK ((status = 'pending') = (acknowledged_at IS NULL)),
    CONSTRAINT bot_commands_completed_check
        CHECK ((status IN ('completed', 'failed')) = (completed_at IS NOT NULL)),
    CONSTRAINT bot_commands_failure_result_check CHECK (status <> 'failed' OR result IS NOT NULL),
    CONSTRAINT bot_commands_chronology_check
        CHECK (acknowledged_at >= issued_at AND completed_at >= acknowledged_at)
);
CREATE INDEX bot_commands_bot_id_idx ON trading.bot_commands (bot_id, issued_at);
COMMENT ON TABLE trading.bot_commands IS
    'Commands to a bot, issued by the engine or the risk service; the bot acknowledges and completes them.';

CREATE TABLE trading.bot_events (
    event_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bot_id          text NOT NULL REFERENCES trading.bot_configs (bot_id),
    command_id      bigint REFERENCES trading.bot_commands (command_id),
    kind            text NOT NULL
                    CHECK (kind IN ('started', 'stopped', 'paused', 'resumed', 'config_reloaded',
                                    'flatten_started', 'flattened', 'error', 'lease_lost')),
    detail          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    occurred_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bot_events_bot_id_idx ON trading.bot_events (bot_id, occurred_at);
CREATE INDEX bot_events_command_id_idx ON trading.bot_events (command_id);
COMMENT ON TABLE trading.bot_events IS 'Append-only lifecycle log of each bot.';

CREATE TABLE trading.bot_leases (
    bot_id          text PRIMARY KEY REFERENCES trading.bot_configs (bot_id),
    worker_id       text NOT NULL CHECK (worker_id ~ '^[a-z0-9][a-z0-9._:-]{0,127}$'),
    acquired_at     timestamptz NOT NULL DEFAULT now(),
    renewed_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    CONSTRAINT bot_leases_chronology_check CHECK (renewed_at >= acquired_at AND expires_at > renewed_at)
);
COMMENT ON TABLE trading.bot_leases IS
    'Which bot-runner worker runs which bot. A lease is taken over only once expired.';

CREATE TABLE trading.bot_positions (
    bot_id              text NOT NULL REFERENCES trading.bot_configs (bot_id),
    instrument_id       bigint NOT NULL REFERENCES market_data.instruments (instrument_id),
    quantity            numeric(38,18) NOT NULL DEFAULT 0,
    average_entry_price numeric(30,12) CHECK (average_entry_price > 0),
    realized_pnl        numeric(28,10) NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bot_positions_pkey PRIMARY KEY (bot_id, instrument_id),
    CONSTRAINT bot_positions_entry_price_check CHECK ((quantity = 0) = (average_entry_price IS NULL))
);
CREATE INDEX bot_positions_instrument_id_idx ON trading.bot_positions (instrument_id);
COMMENT ON TABLE trading.bot_positions IS
    'Net position of a bot per instrument; quantity is signed (negative = short).';

-- 0012 runs bot id: paper and live runs are now started by a bot; record which one.
-- Backtests have no bot. Paper runs from before bots existed keep a null bot_id: the check is
-- NOT VALID, so it binds every new or updated row without rewriting history.

ALTER TABLE trading.runs ADD COLUMN bot_id text REFERENCES trading.bot_configs (bot_id);
CREATE INDEX runs_bot_id_idx ON trading.runs (bot_id);

ALTER TABLE trading.runs
    ADD CONSTRAINT runs_bot_required_check CHECK (mode = 'backtest' OR bot_id IS NOT NULL) NOT VALID;

COMMENT ON COLUMN trading.runs.bot_id IS 'The bot that started this run; null for backtests.';

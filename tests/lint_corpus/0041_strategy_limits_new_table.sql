-- expect: (none)
-- hazard: none
CREATE TABLE trading.strategy_limits (strategy text PRIMARY KEY);
ALTER TABLE trading.strategy_limits ADD COLUMN max_runs integer NOT NULL;
ALTER TABLE trading.strategy_limits ADD COLUMN max_notional numeric(28,10) NOT NULL;
ALTER TABLE trading.strategy_limits ALTER COLUMN max_runs SET NOT NULL;
GRANT SELECT ON trading.strategy_limits TO gordon_trading, gordon_api;

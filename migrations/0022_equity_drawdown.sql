-- 0022 equity drawdown: the running peak of the equity curve, and the drawdown from it computed
-- by the database so that every reader (risk limits, API charts) agrees on it.

ALTER TABLE trading.equity
    ADD COLUMN peak_equity numeric(28,10),
    ADD CONSTRAINT equity_peak_check CHECK (peak_equity > 0 AND peak_equity >= equity);

ALTER TABLE trading.equity
    ADD COLUMN drawdown numeric(12,8)
        GENERATED ALWAYS AS (round((peak_equity - equity) / peak_equity, 8)) STORED;

COMMENT ON COLUMN trading.equity.drawdown IS
    'Fraction below the running peak, 0 at a new high; null for points recorded before 0022.';

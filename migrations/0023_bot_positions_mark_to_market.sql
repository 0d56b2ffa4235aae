-- 0023 bot positions mark to market: the runner marks each position at the latest mid price so
-- the risk service sees unrealized PnL without recomputing it.

ALTER TABLE trading.bot_positions
    ADD COLUMN mark_price numeric(30,12) CHECK (mark_price > 0),
    ADD COLUMN unrealized_pnl numeric(28,10),
    ADD COLUMN marked_at timestamptz,
    ADD CONSTRAINT bot_positions_mark_consistency_check
        CHECK ((mark_price IS NULL) = (marked_at IS NULL) AND (mark_price IS NULL) = (unrealized_pnl IS NULL));

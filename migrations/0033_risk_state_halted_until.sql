-- 0033 risk state halted until: a halt or reduce-only period may end by itself (after a funding
-- window, a venue maintenance); the risk service lifts it when the time comes.

ALTER TABLE trading.risk_state
    ADD COLUMN halted_until timestamptz,
    ADD CONSTRAINT risk_state_halted_until_check CHECK (halted_until IS NULL OR mode <> 'normal');

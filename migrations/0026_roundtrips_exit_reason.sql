-- 0026 roundtrips exit reason: why a roundtrip was closed, for the strategy review reports.
-- Roundtrips closed before this patch did not record it: they are marked 'unrecorded'.

ALTER TABLE trading.roundtrips
    ADD COLUMN exit_reason text
        CHECK (exit_reason IN ('signal', 'stop_loss', 'take_profit', 'flatten', 'risk_limit',
                               'expiry', 'manual', 'unrecorded'));

UPDATE trading.roundtrips SET exit_reason = 'unrecorded' WHERE closed_at IS NOT NULL;

ALTER TABLE trading.roundtrips
    ADD CONSTRAINT roundtrips_exit_reason_required_check CHECK ((closed_at IS NULL) = (exit_reason IS NULL));

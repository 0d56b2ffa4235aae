-- expect: add-column-volatile-default
ALTER TABLE trading.risk_audit ADD COLUMN seq bigserial;

-- expect: add-column-volatile-default
-- hazard: serial column rewrites the table
ALTER TABLE trading.risk_audit ADD COLUMN seq bigserial;

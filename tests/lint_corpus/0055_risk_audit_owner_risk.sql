-- expect: (none)
-- hazard: owner to a runtime role
-- shape: practo/onpremise schema.sql (ALTER FUNCTION ... OWNER TO sentry)
-- The owner bypasses grants and RLS and may ALTER or DROP the table: the append-only audit trail
-- becomes rewritable by the service it audits.
ALTER TABLE trading.risk_audit OWNER TO gordon_risk;

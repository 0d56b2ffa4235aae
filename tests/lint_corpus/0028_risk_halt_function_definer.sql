-- expect: security-definer
-- hazard: none
-- Reviewer: hardened as the manual says (pinned search_path, qualified body, EXECUTE revoked
-- from PUBLIC) and callable by its owner only until a GRANT: no hazard, a false alarm today.
CREATE FUNCTION trading.halt_all(p_reason text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
AS $$ UPDATE trading.risk_state SET halted_until = now() + interval '1 hour' WHERE p_reason IS NOT NULL $$;
REVOKE EXECUTE ON FUNCTION trading.halt_all(text) FROM PUBLIC;

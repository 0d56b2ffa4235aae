-- expect: (none)
-- hazard: none
-- shape: PostgreSQL manual "Writing SECURITY DEFINER Functions Safely" (SET search_path, REVOKE from PUBLIC, GRANT to one role)
-- Pinned search_path, every name qualified, EXECUTE only for the risk service.
CREATE FUNCTION trading.halt_trading(p_reason text, p_changed_by text) RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
AS $$
    UPDATE trading.risk_state
    SET mode = 'halted', reason = p_reason, changed_by = p_changed_by, changed_at = pg_catalog.now()
    WHERE singleton
$$;
REVOKE EXECUTE ON FUNCTION trading.halt_trading(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trading.halt_trading(text, text) TO gordon_risk;

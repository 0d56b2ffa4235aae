-- expect: function-search-path
-- hazard: function without a pinned search_path
CREATE FUNCTION trading.open_notional(p_run_id bigint) RETURNS numeric
    LANGUAGE sql STABLE
AS $$ SELECT coalesce(sum(quantity * coalesce(limit_price, 0)), 0) FROM trading.order_intents
      WHERE run_id = p_run_id AND status IN ('pending', 'submitted', 'accepted') $$;

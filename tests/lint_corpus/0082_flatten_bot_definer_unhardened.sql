-- expect: security-definer
-- hazard: security definer without a pinned search_path
-- shape: practo/onpremise schema.sql (public.sentry_increment_project_counter: plpgsql, no SET search_path)
CREATE FUNCTION trading.request_flatten(p_bot_id text, p_issued_by text) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
AS $$
DECLARE
    new_id bigint;
BEGIN
    INSERT INTO trading.bot_commands (bot_id, command, issued_by)
    VALUES (p_bot_id, 'flatten', p_issued_by)
    RETURNING command_id INTO new_id;
    RETURN new_id;
END
$$;
GRANT EXECUTE ON FUNCTION trading.request_flatten(text, text) TO gordon_api;

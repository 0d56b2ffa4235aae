-- 0016 risk audit api column grant: tighten what the API reads of the risk audit trail.
-- before_value / after_value snapshot whole limit sets and internal override notes; the public
-- API only needs who did what, to which bot or config, when and why.

REVOKE SELECT ON trading.risk_audit FROM gordon_api;
GRANT SELECT (audit_id, actor, action, bot_id, config_id, reason, occurred_at)
    ON trading.risk_audit TO gordon_api;

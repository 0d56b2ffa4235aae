-- expect: (none)
-- hazard: none
-- shape: mastodon/mastodon db/post_migrate/20230522141920_add_bypass_invite_limits_permission.rb (a data migration on a few config rows)
INSERT INTO trading.risk_config
    (scope, max_order_notional, max_position_notional, max_daily_loss, max_open_orders, created_by)
VALUES ('global', 50000, 250000, 10000, 50, 'migration');

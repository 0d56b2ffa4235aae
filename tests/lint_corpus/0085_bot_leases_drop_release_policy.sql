-- expect: (none)
-- hazard: dropping a policy removes access a runtime role uses
-- shape: mastodon/mastodon db/post_migrate/20240808125420_drop_old_policies_from_notifications_policy.rb
DROP POLICY bot_leases_release ON trading.bot_leases;

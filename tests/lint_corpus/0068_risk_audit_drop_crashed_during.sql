-- expect: drop-column
-- hazard: drop column still read by the running code
-- shape: mastodon/mastodon db/post_migrate/20260929161747_remove_private_key_from_accounts.rb
ALTER TABLE trading.risk_audit DROP COLUMN crashed_during;

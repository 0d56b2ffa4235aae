-- expect: (none)
-- hazard: none
-- shape: mastodon/mastodon db/migrate/20161222201034_add_locked_to_accounts.rb (boolean with a constant default)
ALTER TABLE trading.bot_configs ADD COLUMN paused boolean NOT NULL DEFAULT false;

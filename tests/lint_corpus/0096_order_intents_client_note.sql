-- expect: (none)
-- hazard: none
-- shape: mastodon/mastodon db/migrate/20160223165723_add_url_to_statuses.rb
ALTER TABLE trading.order_intents ADD COLUMN client_note text;

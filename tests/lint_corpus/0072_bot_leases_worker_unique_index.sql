-- expect: index-not-concurrent
-- hazard: unique index built without concurrently
-- shape: mastodon/mastodon db/post_migrate/20230803082451_add_unique_index_on_preview_cards_statuses.rb (there concurrently; here without)
CREATE UNIQUE INDEX bot_leases_worker_bot_key ON trading.bot_leases (worker_id, bot_id);

-- no-transaction
-- expect: (none)
-- hazard: none
-- shape: mastodon/mastodon db/post_migrate/20220118183010_remove_index_users_on_remember_token.rb (an unused index dropped after deploy; here CONCURRENTLY)
DROP INDEX CONCURRENTLY IF EXISTS trading.bot_events_command_id_idx;

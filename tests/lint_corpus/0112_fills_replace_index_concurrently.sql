-- no-transaction
-- expect: (none)
-- hazard: none
-- shape: mastodon/mastodon db/post_migrate/20250129144440_add_new_public_index_to_statuses.rb and 20250129144813_remove_old_public_index_to_statuses.rb
CREATE INDEX CONCURRENTLY IF NOT EXISTS fills_filled_at_intent_idx ON trading.fills (filled_at, intent_id);
DROP INDEX CONCURRENTLY IF EXISTS trading.fills_filled_at_idx;

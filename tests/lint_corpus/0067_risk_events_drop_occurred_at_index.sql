-- expect: index-not-concurrent
-- hazard: drop index without concurrently
-- shape: mastodon/mastodon db/post_migrate/20250129144813_remove_old_public_index_to_statuses.rb (there concurrently; here without)
DROP INDEX trading.risk_events_occurred_at_idx;

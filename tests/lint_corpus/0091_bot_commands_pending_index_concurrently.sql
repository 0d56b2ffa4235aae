-- no-transaction
-- expect: (none)
-- hazard: none
-- shape: mastodon/mastodon db/post_migrate/20220310060545_optimize_null_index_statuses_in_reply_to_account_id.rb
-- A partial index built concurrently, re-runnable after a failure (IF NOT EXISTS).
CREATE INDEX CONCURRENTLY IF NOT EXISTS bot_commands_pending_idx
    ON trading.bot_commands (bot_id, issued_at) WHERE status = 'pending';

-- expect: rename-table
-- hazard: rename table breaks running code
-- shape: mastodon/mastodon db/post_migrate/20260804081821_convert_materialized_views_to_tables.rb (rename_table)
ALTER TABLE trading.bot_positions RENAME TO bot_holdings;

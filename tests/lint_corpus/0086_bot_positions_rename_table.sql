-- expect: rename-table
-- hazard: rename table breaks running code
-- shape: discourse/discourse db/post_migrate/20200629232159_rename_path_whitelist_to_allowed_paths.rb
ALTER TABLE trading.bot_positions RENAME TO bot_holdings;

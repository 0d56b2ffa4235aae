-- expect: rename-column
-- hazard: rename column breaks running readers and writers
-- shape: discourse/discourse db/post_migrate/20240703232446_rename_flags_custom_type_to_require_message.rb
ALTER TABLE trading.bot_commands RENAME COLUMN result TO outcome;

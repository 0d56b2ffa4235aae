-- expect: set-not-null-without-check
-- hazard: set not null scans under access exclusive
-- shape: discourse/discourse db/post_migrate/20220325064954_make_some_bookmark_columns_nullable.rb (change_column_null; here the other way)
ALTER TABLE trading.bot_commands ALTER COLUMN expires_at SET NOT NULL;

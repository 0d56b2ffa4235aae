-- expect: (none)
-- hazard: none
-- shape: discourse/discourse db/post_migrate/20210909041448_make_topic_id_nullable_for_bookmarks.rb
-- DROP NOT NULL is a catalog change: no scan, the lock is held for an instant.
ALTER TABLE trading.bot_commands ALTER COLUMN issued_by DROP NOT NULL;

-- expect: truncate
-- hazard: truncate of a live table
-- shape: gitlabhq/gitlabhq db/post_migrate/20221108045019_truncate_timeline_event_tags_table.rb
-- ACCESS EXCLUSIVE on book_tops and every snapshot gone, not recoverable by a rollback once
-- committed.
TRUNCATE market_data.book_tops;

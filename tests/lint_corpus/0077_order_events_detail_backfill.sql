-- expect: unbatched-dml
-- hazard: unbatched update of a whole table
-- shape: mastodon/mastodon db/post_migrate/20221101190723_backfill_admin_action_logs.rb (a backfill of every row; there row by row, here one UPDATE)
UPDATE trading.order_events SET detail = detail || '{"schema": 2}'::jsonb;

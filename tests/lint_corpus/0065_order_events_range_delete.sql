-- expect: large-delete
-- hazard: large range delete in one transaction
-- shape: mastodon/mastodon db/post_migrate/20210524114545_remove_ghost_statuses.rb (a DELETE with a WHERE over a big table, in one go)
-- A WHERE is not a batch: 90 days of order events is most of the table, deleted in one
-- statement (row locks, WAL burst, bloat, replicas lag).
DELETE FROM trading.order_events WHERE occurred_at < now() - interval '90 days';

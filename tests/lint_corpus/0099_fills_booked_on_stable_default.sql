-- expect: add-column-volatile-default
-- hazard: none
-- shape: discourse/discourse db/post_migrate/20210726130556_set_user_stats_draft_count.rb (a computed default)
-- now() is STABLE: ADD COLUMN evaluates the default once and stores it in the catalog (no
-- rewrite). Existing rows get the day of the migration, which is what the report wants.
ALTER TABLE trading.fills ADD COLUMN booked_on date NOT NULL DEFAULT (timezone('UTC', now()))::date;

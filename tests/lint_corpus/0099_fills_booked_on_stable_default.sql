-- expect: (none)
-- hazard: none
-- shape: ok2dok2/kadai_manyo db/migrate/20230628023602_add_date_to_tasks.rb (add_column date, null: false, default NOW())
-- now() is STABLE: ADD COLUMN evaluates the default once and stores it in the catalog (no
-- rewrite). Existing rows get the day of the migration, which is what the report wants.
ALTER TABLE trading.fills ADD COLUMN booked_on date NOT NULL DEFAULT (timezone('UTC', now()))::date;

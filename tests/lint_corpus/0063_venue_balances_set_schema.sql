-- expect: (none)
-- hazard: set schema breaks every query naming the old schema
-- shape: discourse/discourse db/post_migrate/20210208022739_move_new_since_to_new_table.rb (moving data to a new home)
-- The engine writes trading.venue_balances by name: after this it fails on every snapshot.
ALTER TABLE trading.venue_balances SET SCHEMA market_data;

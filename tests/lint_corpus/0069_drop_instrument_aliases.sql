-- expect: drop-table
-- hazard: drop table still used by ingest
-- shape: discourse/discourse db/post_migrate/20230117121353_drop_post_details_table.rb
DROP TABLE market_data.instrument_aliases;

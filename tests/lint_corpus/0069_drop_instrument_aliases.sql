-- expect: drop-table
-- hazard: drop table still used by ingest
-- shape: mastodon/mastodon db/post_migrate/20230818142253_drop_follow_recommendations.rb
DROP TABLE market_data.instrument_aliases;

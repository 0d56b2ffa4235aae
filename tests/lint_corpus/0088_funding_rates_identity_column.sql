-- expect: add-column-volatile-default
-- hazard: identity column added to an existing table rewrites it
-- shape: mastodon/mastodon db/post_migrate/20230803112520_add_primary_key_to_preview_cards_statuses_join_table.rb
ALTER TABLE market_data.funding_rates ADD COLUMN funding_id bigint GENERATED ALWAYS AS IDENTITY;

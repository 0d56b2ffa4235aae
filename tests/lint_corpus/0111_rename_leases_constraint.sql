-- expect: (none)
-- hazard: none
-- shape: mastodon/mastodon db/post_migrate/20260720103819_rename_index_accounts_on_uri_to_old.rb (a catalog-only rename; here of a constraint)
ALTER TABLE trading.bot_leases RENAME CONSTRAINT bot_leases_chronology_check TO bot_leases_timeline_check;

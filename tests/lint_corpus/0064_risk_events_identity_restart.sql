-- expect: sequence-restart
-- hazard: identity restart under live keys
-- shape: mastodon/mastodon db/post_migrate/20220729171123_fix_custom_filter_keywords_id_seq.rb (a migration that moves a key sequence; here backwards)
-- Restarting at 1 while rows hold ids: the next INSERTs of the risk service collide with the
-- primary key until the counter passes the highest id.
ALTER TABLE trading.risk_events ALTER COLUMN event_id RESTART WITH 1;

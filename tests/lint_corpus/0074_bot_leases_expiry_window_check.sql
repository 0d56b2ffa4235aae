-- expect: constraint-without-not-valid
-- hazard: check constraint validated under access exclusive
-- shape: gitlabhq/gitlabhq db/migrate/20230606124855_add_size_constraint_to_namespace_settings_json.rb (there validate: false; here validated at once)
ALTER TABLE trading.bot_leases
    ADD CONSTRAINT bot_leases_expiry_window_check CHECK (expires_at <= renewed_at + interval '1 hour');

-- expect: constraint-without-not-valid
-- hazard: check constraint validated under access exclusive
-- shape: gitlabhq/gitlabhq doc/development/migration_style_guide.md (add_check_constraint without validate: false)
ALTER TABLE trading.bot_leases
    ADD CONSTRAINT bot_leases_expiry_window_check CHECK (expires_at <= renewed_at + interval '1 hour');

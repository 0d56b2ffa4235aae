-- expect: (none)
-- hazard: none
-- shape: gitlabhq/gitlabhq doc/development/migration_style_guide.md (add_check_constraint ... validate: false, validated in a post-deploy migration)
ALTER TABLE trading.bot_leases
    ADD CONSTRAINT bot_leases_expiry_window_check
    CHECK (expires_at <= renewed_at + interval '1 hour') NOT VALID;

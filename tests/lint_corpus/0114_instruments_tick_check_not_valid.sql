-- expect: (none)
-- hazard: none
-- shape: gitlabhq/gitlabhq db/post_migrate/20250804192647_add_not_null_not_valid_constraint_to_gpg_signatures_on_project_id.rb (NOT VALID now, validated later)
ALTER TABLE market_data.instruments
    ADD CONSTRAINT instruments_lot_tick_positive_check CHECK (lot_size * tick_size > 0) NOT VALID;

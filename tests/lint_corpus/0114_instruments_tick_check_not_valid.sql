-- expect: (none)
-- hazard: none
-- shape: gitlabhq/gitlabhq doc/development/migration_style_guide.md (NOT VALID now, VALIDATE after deploy)
ALTER TABLE market_data.instruments
    ADD CONSTRAINT instruments_lot_tick_positive_check CHECK (lot_size * tick_size > 0) NOT VALID;

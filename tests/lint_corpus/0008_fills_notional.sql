-- expect: add-column-stored-generated
-- A STORED generated column rewrites every fill.
ALTER TABLE trading.fills
    ADD COLUMN notional numeric GENERATED ALWAYS AS (price * quantity) STORED;

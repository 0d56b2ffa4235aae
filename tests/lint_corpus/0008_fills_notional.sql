-- expect: add-column-stored-generated
-- hazard: stored generated column rewrites the table
-- A STORED generated column rewrites every fill.
ALTER TABLE trading.fills
    ADD COLUMN notional numeric GENERATED ALWAYS AS (price * quantity) STORED;

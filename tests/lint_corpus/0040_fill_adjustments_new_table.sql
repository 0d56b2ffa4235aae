-- expect: (none)
-- hazard: none
-- New table: its FK, CHECK and index are all built on an empty table.
CREATE TABLE trading.fill_adjustments (
    adjustment_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fill_id        bigint NOT NULL,
    fee_delta      numeric(28,10) NOT NULL,
    reason         text NOT NULL
);
ALTER TABLE trading.fill_adjustments
    ADD CONSTRAINT fill_adjustments_fill_id_fkey FOREIGN KEY (fill_id) REFERENCES trading.fills (fill_id);
ALTER TABLE trading.fill_adjustments
    ADD CONSTRAINT fill_adjustments_reason_check CHECK (char_length(reason) BETWEEN 1 AND 200);
CREATE INDEX fill_adjustments_fill_id_idx ON trading.fill_adjustments (fill_id);
GRANT SELECT, INSERT ON trading.fill_adjustments TO gordon_trading;

-- expect: add-column-not-null-no-default
-- hazard: not null column without a default fails every insert of running code
-- Fails on any non-empty runs table.
ALTER TABLE trading.runs ADD COLUMN operator text NOT NULL;

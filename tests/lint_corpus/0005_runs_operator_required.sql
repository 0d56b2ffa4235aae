-- expect: add-column-not-null-no-default
-- Fails on any non-empty runs table.
ALTER TABLE trading.runs ADD COLUMN operator text NOT NULL;

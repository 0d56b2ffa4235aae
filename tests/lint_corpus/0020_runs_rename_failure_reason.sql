-- expect: rename-column
-- hazard: rename column breaks running readers and writers
ALTER TABLE trading.runs RENAME COLUMN failure_reason TO failure_detail;

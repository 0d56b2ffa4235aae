-- expect: rename-column
ALTER TABLE trading.runs RENAME COLUMN failure_reason TO failure_detail;

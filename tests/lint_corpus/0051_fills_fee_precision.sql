-- expect: (none)
-- hazard: none
-- Larger fees from a new venue: a wider precision, same scale. PostgreSQL changes the catalog
-- only (no rewrite, no index rebuild); gordon-migrate knows fee is numeric(28,10) from 0004.
ALTER TABLE trading.fills ALTER COLUMN fee TYPE numeric(30,10);

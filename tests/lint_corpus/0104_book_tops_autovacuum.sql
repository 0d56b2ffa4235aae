-- expect: (none)
-- hazard: none
-- shape: NFTEarth/indexer packages/indexer/src/migrations/1676810415295_optimize-tables.sql
ALTER TABLE market_data.book_tops SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);

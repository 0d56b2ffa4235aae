-- expect: reindex-not-concurrent
-- hazard: reindex without concurrently
REINDEX TABLE trading.fills;

-- expect: reindex-not-concurrent
REINDEX TABLE trading.fills;

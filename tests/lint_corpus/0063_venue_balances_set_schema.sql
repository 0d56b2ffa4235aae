-- expect: set-schema
-- hazard: set schema breaks every query naming the old schema
-- shape: hashgraph/hedera-mirror-node hedera-mirror-importer/src/main/resources/db/scripts/timescaledb/alterSchema.sql
-- The engine writes trading.venue_balances by name: after this it fails on every snapshot.
ALTER TABLE trading.venue_balances SET SCHEMA market_data;

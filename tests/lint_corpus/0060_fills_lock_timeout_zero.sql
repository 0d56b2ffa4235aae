-- expect: timeout-override
-- hazard: lock timeout set to 0 inside a migration
-- shape: windorg/app-old Application/Fixtures.sql (SET lock_timeout = 0), scoped with LOCAL
-- "It kept timing out": with no lock timeout the ALTER queues behind a long reader and every
-- writer of fills queues behind it.
SET LOCAL lock_timeout = 0;
ALTER TABLE trading.fills ADD COLUMN venue_trade_ref text;

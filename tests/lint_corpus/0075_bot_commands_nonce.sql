-- expect: add-column-volatile-default
-- hazard: volatile default rewrites the table
-- shape: DEFRA/water-abstraction-tactical-idm migrations/sqls/20260204141558-alter-users-id-up.sql (ADD COLUMN ... DEFAULT gen_random_uuid() NOT NULL)
ALTER TABLE trading.bot_commands ADD COLUMN nonce uuid NOT NULL DEFAULT gen_random_uuid();

-- expect: unbatched-dml
-- hazard: unbatched update of a whole table
UPDATE trading.bot_configs SET params = params || '{"version": 2}'::jsonb;

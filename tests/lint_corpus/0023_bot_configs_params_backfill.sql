-- expect: unbatched-dml
UPDATE trading.bot_configs SET params = params || '{"version": 2}'::jsonb;

-- no-transaction
-- expect: table-rewrite-command
VACUUM FULL trading.bot_events;

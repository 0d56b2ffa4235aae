-- no-transaction
-- expect: table-rewrite-command
-- hazard: table rewrite command (vacuum full)
VACUUM FULL trading.bot_events;

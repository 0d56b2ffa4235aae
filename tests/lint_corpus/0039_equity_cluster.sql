-- expect: table-rewrite-command
-- hazard: table rewrite command (cluster)
CLUSTER trading.equity USING equity_pkey;

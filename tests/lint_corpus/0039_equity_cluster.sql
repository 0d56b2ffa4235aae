-- expect: table-rewrite-command
CLUSTER trading.equity USING equity_pkey;

-- expect: rename-table
-- hazard: rename table breaks running code
ALTER TABLE trading.trades RENAME TO trade_ledger;

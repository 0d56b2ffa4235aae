-- expect: rename-table
ALTER TABLE trading.trades RENAME TO trade_ledger;

-- expect: lock-table
-- hazard: explicit lock table
LOCK TABLE trading.risk_state IN SHARE ROW EXCLUSIVE MODE;
UPDATE trading.risk_state SET halted_until = NULL WHERE halted_until < now();

-- expect: drop-table
-- hazard: drop table still used
DROP TABLE market_data.open_interest;

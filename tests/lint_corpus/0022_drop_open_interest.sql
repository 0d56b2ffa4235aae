-- expect: drop-table
DROP TABLE market_data.open_interest;

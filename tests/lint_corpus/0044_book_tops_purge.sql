-- expect: unbatched-dml
-- hazard: unbatched delete of a whole table
DELETE FROM market_data.book_tops;

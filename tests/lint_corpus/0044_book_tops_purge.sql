-- expect: unbatched-dml
DELETE FROM market_data.book_tops;

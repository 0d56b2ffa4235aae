-- expect: add-column-volatile-default
-- hazard: identity column added to an existing table rewrites it
-- shape: zekenie/web-reducer server/migrations/2022.11.24T18.06.10.console-number.js (add column bigint GENERATED ALWAYS AS IDENTITY)
ALTER TABLE market_data.funding_rates ADD COLUMN funding_id bigint GENERATED ALWAYS AS IDENTITY;

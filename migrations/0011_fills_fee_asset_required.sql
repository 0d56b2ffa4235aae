-- 0011 fills fee asset required: the first paper runs recorded fees without their asset. Every
-- venue adapter reports it now; backfill the old rows with the instrument's quote asset (what
-- those venues charged in), then require it.

UPDATE trading.fills AS f
SET fee_asset = i.quote_asset
FROM trading.order_intents AS oi
JOIN market_data.instruments AS i ON i.instrument_id = oi.instrument_id
WHERE oi.intent_id = f.intent_id
  AND f.fee_asset IS NULL;

ALTER TABLE trading.fills ALTER COLUMN fee_asset SET NOT NULL;

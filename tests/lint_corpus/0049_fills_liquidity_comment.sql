-- expect: (none)
-- hazard: none
COMMENT ON COLUMN trading.fills.liquidity IS 'maker or taker, as the venue reported it';

-- expect: grant-to-public
-- hazard: grant to public
GRANT SELECT ON market_data.instruments TO PUBLIC;

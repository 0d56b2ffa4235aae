-- expect: (none)
-- hazard: none
-- shape: abeseler/BeselerNet data/Permissions/app_reader.sql (a read grant, table by table)
GRANT SELECT ON market_data.open_interest TO gordon_risk;

-- expect: (none)
-- hazard: none
-- The dashboard shows balances: a grant on an existing table (then `fixtures update`).
GRANT SELECT ON trading.venue_balances TO gordon_api;

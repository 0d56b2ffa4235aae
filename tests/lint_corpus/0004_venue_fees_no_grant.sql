-- expect: grant-decision-missing
-- hazard: new table with no grant decision
-- A new table nobody decided the grants of.
CREATE TABLE trading.venue_fee_schedules (
    venue        text NOT NULL,
    tier         text NOT NULL,
    maker_bps    numeric(10,4) NOT NULL,
    taker_bps    numeric(10,4) NOT NULL,
    PRIMARY KEY (venue, tier)
);

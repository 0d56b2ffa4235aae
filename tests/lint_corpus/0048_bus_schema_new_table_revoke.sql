-- expect: (none)
-- hazard: none
-- No runtime role may touch it: the REVOKE records that decision.
CREATE TABLE bus.dead_letters (outbox_id bigint PRIMARY KEY, failed_at timestamptz NOT NULL);
REVOKE ALL ON bus.dead_letters FROM PUBLIC;

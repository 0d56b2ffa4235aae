-- 0025 bus outbox delivery attempts: several relay workers now share the outbox. A worker claims
-- a batch (claimed_by = its gordon.worker_id, for a bounded time), delivers it, and records
-- failures with a backoff; an event that keeps failing is dead-lettered for an operator.
--
-- Row-level security makes the claim binding: a relay worker can only update rows that are
-- unclaimed, already its own, or whose claim expired, and every row it updates becomes its own.
-- Delivered events older than seven days may be pruned by the relay, and nothing younger.

ALTER TABLE bus.outbox
    ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN last_error text CHECK (char_length(last_error) <= 4000),
    ADD COLUMN claimed_by text CHECK (claimed_by ~ '^[a-z0-9][a-z0-9._:-]{0,127}$'),
    ADD COLUMN claim_expires_at timestamptz,
    ADD COLUMN dead_lettered_at timestamptz,
    ADD CONSTRAINT outbox_claim_pair_check CHECK ((claimed_by IS NULL) = (claim_expires_at IS NULL)),
    ADD CONSTRAINT outbox_single_outcome_check CHECK (delivered_at IS NULL OR dead_lettered_at IS NULL);

DROP INDEX bus.outbox_undelivered_idx;
CREATE INDEX outbox_pending_idx
    ON bus.outbox (next_attempt_at, outbox_id)
    WHERE delivered_at IS NULL AND dead_lettered_at IS NULL;
CREATE INDEX outbox_delivered_at_idx ON bus.outbox (delivered_at) WHERE delivered_at IS NOT NULL;

GRANT UPDATE (attempts, next_attempt_at, last_error, claimed_by, claim_expires_at, dead_lettered_at)
    ON bus.outbox TO gordon_outbox_relay;
GRANT DELETE ON bus.outbox TO gordon_outbox_relay;

ALTER TABLE bus.outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY outbox_produce ON bus.outbox
    FOR INSERT TO gordon_trading, gordon_bots, gordon_risk
    WITH CHECK (true);
CREATE POLICY outbox_relay_read ON bus.outbox
    FOR SELECT TO gordon_outbox_relay
    USING (true);
CREATE POLICY outbox_relay_claim ON bus.outbox
    FOR UPDATE TO gordon_outbox_relay
    USING (claimed_by IS NULL
           OR claimed_by = current_setting('gordon.worker_id', true)
           OR claim_expires_at < now())
    WITH CHECK (claimed_by = current_setting('gordon.worker_id', true));
CREATE POLICY outbox_relay_prune ON bus.outbox
    FOR DELETE TO gordon_outbox_relay
    USING (delivered_at < now() - interval '7 days');

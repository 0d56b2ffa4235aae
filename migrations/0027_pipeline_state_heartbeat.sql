-- 0027 pipeline state heartbeat: which engine worker runs a stage, and when it last proved alive,
-- so the risk service can halt trading on a stalled execution stage.

ALTER TABLE trading.pipeline_state
    ADD COLUMN worker_id text CHECK (worker_id ~ '^[a-z0-9][a-z0-9._:-]{0,127}$'),
    ADD COLUMN heartbeat_at timestamptz;

-- Stages running when this shipped had no heartbeat yet: they get one now.
UPDATE trading.pipeline_state
SET worker_id = 'unknown-pre-0027', heartbeat_at = now()
WHERE status = 'running';

ALTER TABLE trading.pipeline_state
    ADD CONSTRAINT pipeline_state_running_heartbeat_check
        CHECK (status <> 'running' OR (worker_id IS NOT NULL AND heartbeat_at IS NOT NULL));

CREATE INDEX pipeline_state_running_heartbeat_idx
    ON trading.pipeline_state (heartbeat_at)
    WHERE status = 'running';

-- 0031 bot leases worker index: a runner worker renews all its leases in one statement
-- (WHERE worker_id = ...) every few seconds; and the takeover scan looks for expired leases.

CREATE INDEX bot_leases_worker_id_idx ON trading.bot_leases (worker_id);
CREATE INDEX bot_leases_expires_at_idx ON trading.bot_leases (expires_at);

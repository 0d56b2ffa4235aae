-- 0019 runs update column grant: tighten the engine's UPDATE on runs. The engine only moves a run
-- through its lifecycle; what was run (strategy, version, mode, params, initial equity, bot) must
-- not be rewritten after the fact.

REVOKE UPDATE ON trading.runs FROM gordon_trading;
GRANT UPDATE (status, started_at, ended_at, failure_reason) ON trading.runs TO gordon_trading;

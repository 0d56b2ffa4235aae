-- 0038 runs strategy code revision: the exact commit of the strategy code a run executed
-- (strategy_version is the human release name, which has been reused across hotfixes). Required
-- for live runs from now on; earlier runs keep null (the check is NOT VALID).
-- gordon_trading sets it on INSERT; its column-level UPDATE (0019) does not include it, so a
-- run's revision cannot be rewritten afterwards.

ALTER TABLE trading.runs
    ADD COLUMN strategy_code_revision text
        CHECK (strategy_code_revision ~ '^([0-9a-f]{40}|[0-9a-f]{64})$');

ALTER TABLE trading.runs
    ADD CONSTRAINT runs_live_code_revision_check
        CHECK (mode <> 'live' OR strategy_code_revision IS NOT NULL) NOT VALID;

COMMENT ON COLUMN trading.runs.strategy_code_revision IS
    'Git commit (SHA-1 or SHA-256, lowercase hex) of the strategy code this run executed.';

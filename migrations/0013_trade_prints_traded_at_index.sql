-- no-transaction
-- 0013 trade prints traded at index: reconciliation scans trade prints by time across all
-- instruments. The table was already large and written continuously when this shipped, so the
-- index is built CONCURRENTLY, which cannot run inside a transaction block: hence the marker on
-- the first line, and a single statement (a no-transaction migration that fails part-way is
-- left dirty; one statement keeps "what took effect" obvious).
--
-- An interrupted build leaves an INVALID index that IF NOT EXISTS would keep: drop it first
-- (DROP INDEX CONCURRENTLY IF EXISTS market_data.trade_prints_traded_at_idx), see
-- docs/spof-runbook.md, FM-13 dirty migration.

CREATE INDEX CONCURRENTLY IF NOT EXISTS trade_prints_traded_at_idx ON market_data.trade_prints (traded_at);

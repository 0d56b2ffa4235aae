-- expect: index-not-concurrent
-- hazard: index built without concurrently on a hot table
-- shape: PostHog/posthog posthog/migrations/0024_add_event_distinct_id_index.py (there CONCURRENTLY; here without)
CREATE INDEX trade_prints_instrument_traded_at_idx ON market_data.trade_prints (instrument_id, traded_at);

-- expect: (none)
-- hazard: none
-- shape: PostHog/posthog posthog/migrations/0050_event_partitions.py (storage parameters of a high-churn table)
ALTER TABLE market_data.book_tops SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);

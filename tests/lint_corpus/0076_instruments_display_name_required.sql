-- expect: add-column-not-null-no-default
-- hazard: not null column without a default fails every insert of running code
-- shape: PostHog/posthog posthog/migrations/0019_team_name.py (AddField of a name; there nullable, here required with no default)
ALTER TABLE market_data.instruments ADD COLUMN display_name text NOT NULL;

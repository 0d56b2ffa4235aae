-- expect: add-column-volatile-default
-- hazard: volatile default rewrites the table
-- shape: PostHog/posthog posthog/migrations/0031_team_signup_token.py
ALTER TABLE trading.bot_commands ADD COLUMN nonce uuid NOT NULL DEFAULT gen_random_uuid();

-- expect: (none)
-- hazard: grant of a secret column to a role that had none
-- shape: IAmShivay/CRM-SASS supabase/migrations/046_create_default_privileges_for_tables.sql (broad grants to the API role)
-- "The dashboard needs to show whether a key is set": it now reads the encrypted secret itself.
GRANT SELECT (venue_api_key, venue_api_secret) ON trading.bot_configs TO gordon_api;

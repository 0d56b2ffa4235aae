-- expect: (none)
-- hazard: grant of write access to a role that had none
-- shape: CodeTriumvirat/clubware_backend supabase/migrations/20240323150033_grant_role_access_to_public.sql
-- The read-only API may now write the risk audit trail.
GRANT INSERT ON trading.risk_audit TO gordon_api;

-- expect: grant-to-public
-- hazard: grant to public
-- shape: CodeTriumvirat/clubware_backend supabase/migrations/20240323150033_grant_role_access_to_public.sql
GRANT EXECUTE ON FUNCTION trading.ipc_notify_trigger() TO PUBLIC;

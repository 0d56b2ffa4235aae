-- expect: (none)
-- hazard: dropping a policy removes access a runtime role uses
-- shape: AdamBurawski/Flashcards-creator-app supabase/migrations/20240608153015_disable_policies.sql
DROP POLICY bot_leases_release ON trading.bot_leases;

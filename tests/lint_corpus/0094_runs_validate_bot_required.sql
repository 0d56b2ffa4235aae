-- expect: (none)
-- hazard: none
-- shape: gitlabhq/gitlabhq db/post_migrate/20250904101508_validate_not_null_constraint_on_integrations.rb (the validation alone, in its own post-deploy migration)
-- The validation alone: SHARE UPDATE EXCLUSIVE, reads and writes continue during the scan.
ALTER TABLE trading.runs VALIDATE CONSTRAINT runs_bot_required_check;

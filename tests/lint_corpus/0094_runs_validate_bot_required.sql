-- expect: (none)
-- hazard: none
-- shape: gitlabhq/gitlabhq doc/development/migration_style_guide.md (validate the NOT VALID constraint in its own post-deploy migration)
-- The validation alone: SHARE UPDATE EXCLUSIVE, reads and writes continue during the scan.
ALTER TABLE trading.runs VALIDATE CONSTRAINT runs_bot_required_check;

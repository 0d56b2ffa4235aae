-- expect: (none)
-- hazard: none
-- shape: gitlabhq/gitlabhq db/post_migrate/20241008163123_add_project_id_not_null_constraint_to_ci_stages.rb (a new key column constrained with validate: false)
ALTER TABLE trading.risk_audit ADD COLUMN run_id bigint;
ALTER TABLE trading.risk_audit
    ADD CONSTRAINT risk_audit_run_id_fkey FOREIGN KEY (run_id) REFERENCES trading.runs (run_id) NOT VALID;

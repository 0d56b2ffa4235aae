-- expect: (none)
-- hazard: none
-- shape: gitlabhq/gitlabhq doc/development/migration_style_guide.md (add_concurrent_foreign_key ... validate: false)
ALTER TABLE trading.risk_audit ADD COLUMN run_id bigint;
ALTER TABLE trading.risk_audit
    ADD CONSTRAINT risk_audit_run_id_fkey FOREIGN KEY (run_id) REFERENCES trading.runs (run_id) NOT VALID;

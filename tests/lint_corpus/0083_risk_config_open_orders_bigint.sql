-- expect: alter-column-type
-- hazard: type change rewrites the table
-- shape: gitlabhq/gitlabhq db/migrate/20210608072312_initialize_conversion_of_ci_stages_to_bigint.rb (GitLab converts through a shadow column; here the direct ALTER TYPE)
ALTER TABLE trading.risk_config ALTER COLUMN max_open_orders TYPE bigint;

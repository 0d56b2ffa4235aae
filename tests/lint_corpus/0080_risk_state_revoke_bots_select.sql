-- expect: (none)
-- hazard: revoke of a privilege a runtime role uses
-- shape: abiramichidambaram/are-aws-flyway-db-migrator AWSLambdaDBMigrator/terraform/lambda-flyway-db-migrator/target/classes/db/migration/V1677494690__createRoles.sql (per-role grants; here one taken back)
-- Bots read the risk mode before every order (reduce_only, halted): they now fail closed, all of them.
REVOKE SELECT ON trading.risk_state FROM gordon_bots;

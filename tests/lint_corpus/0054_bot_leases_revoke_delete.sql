-- expect: (none)
-- hazard: revoke of a privilege a runtime role uses
-- shape: abiramichidambaram/are-aws-flyway-db-migrator AWSLambdaDBMigrator/terraform/lambda-flyway-db-migrator/target/classes/db/migration/V1677494690__createRoles.sql (per-role grants; here one taken back)
-- "Leases are never deleted, they expire": but the bot runner releases its lease with DELETE
-- on a clean shutdown (policy bot_leases_release of 0008).
REVOKE DELETE ON trading.bot_leases FROM gordon_bots;

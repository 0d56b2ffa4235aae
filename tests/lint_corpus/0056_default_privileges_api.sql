-- expect: (none)
-- hazard: default privileges to a runtime role
-- shape: abeseler/BeselerNet data/Permissions/app_reader.sql
-- Every future table in trading becomes readable by the API, including ones holding secrets;
-- 0008 deliberately has no default privileges for runtime roles.
ALTER DEFAULT PRIVILEGES IN SCHEMA trading GRANT SELECT ON TABLES TO gordon_api;

-- expect: hidden-ddl
-- hazard: ddl hidden in a do block with execute
-- shape: gitlabhq/gitlabhq db/post_migrate/20221108045019_truncate_timeline_event_tags_table.rb (DDL passed as a string to execute)
-- A plain CREATE INDEX (SHARE lock on fills, writes blocked for the build) the parser cannot see.
DO $$
BEGIN
    EXECUTE format('CREATE INDEX %I ON trading.fills (filled_at, intent_id)', 'fills_filled_at_intent_idx');
END
$$;

-- expect: add-column-volatile-default
-- hazard: volatile default rewrites the table
-- A volatile default: every existing outbox row is rewritten.
ALTER TABLE bus.outbox ADD COLUMN trace_id uuid DEFAULT gen_random_uuid();

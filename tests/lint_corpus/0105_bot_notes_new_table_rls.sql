-- expect: (none)
-- hazard: none
-- shape: launchql/postgres-ast-deparser packages/webql-roles/deploy/schemas/roles_private/tables/user_secrets/policies/enable_row_level_security.sql (RLS on a new table, with its policies)
CREATE TABLE trading.bot_notes (
    note_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bot_id      text NOT NULL REFERENCES trading.bot_configs (bot_id),
    body        text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 4000),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bot_notes_bot_id_idx ON trading.bot_notes (bot_id);
GRANT SELECT ON trading.bot_notes TO gordon_bots, gordon_api;
ALTER TABLE trading.bot_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY bot_notes_own_bot ON trading.bot_notes
    FOR SELECT TO gordon_bots
    USING (bot_id = current_setting('gordon.bot_id', true));
CREATE POLICY bot_notes_read_all ON trading.bot_notes
    FOR SELECT TO gordon_api
    USING (true);

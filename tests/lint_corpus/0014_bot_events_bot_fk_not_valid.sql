-- expect: (none)
-- hazard: none
ALTER TABLE trading.bot_events
    ADD CONSTRAINT bot_events_bot_id_fkey2 FOREIGN KEY (bot_id)
    REFERENCES trading.bot_configs (bot_id) NOT VALID;

-- expect: (none)
-- hazard: dropping a guard trigger
-- shape: KBVE/kbve apps/kilobase/sql/user_cards/20241109130000_user_cards_migration.sql (DROP TRIGGER in a migration)
DROP TRIGGER risk_state_no_truncate ON trading.risk_state;

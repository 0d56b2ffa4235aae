-- expect: (none)
-- hazard: none
-- shape: misasa/medusa db/migrate/20151202002615_add_comment_to_custom_attributes.rb
COMMENT ON TABLE trading.risk_events IS 'What the risk service observed or enforced; acknowledged by an operator.';

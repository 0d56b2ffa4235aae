-- expect: (none)
-- hazard: none
-- shape: discourse/discourse db/post_migrate/20240524021544_mark_old_bookmark_columns_readonly.rb (documenting a column's contract)
COMMENT ON TABLE trading.risk_events IS 'What the risk service observed or enforced; acknowledged by an operator.';

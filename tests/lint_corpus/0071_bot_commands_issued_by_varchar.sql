-- expect: alter-column-type
-- hazard: type change scans or rewrites under access exclusive
-- shape: discourse/discourse db/post_migrate/20230823095931_add_limit_to_user_second_factor_name.rb
ALTER TABLE trading.bot_commands ALTER COLUMN issued_by TYPE varchar(128);

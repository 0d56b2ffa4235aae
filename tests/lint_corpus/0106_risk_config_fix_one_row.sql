-- expect: (none)
-- hazard: none
-- shape: mastodon/mastodon db/post_migrate/20230904134623_fix_kmr_locale_settings.rb (a targeted data fix)
UPDATE trading.risk_config SET max_leverage = 3 WHERE config_id = 1 AND max_leverage > 3;

-- Optional: a read-only role for the dashboard. Applied only when a role name is given:
--   moviecdc deploy --var dashboard_role=MOVIECDC_DASHBOARD
-- It may read the pipeline's tables and dynamic tables and see task and refresh history,
-- and change nothing. Grant it to the dashboard's user with GRANT ROLE ... TO USER ....
-- (The local engine accepts these statements and does not enforce them.)
{% if dashboard_role %}
CREATE ROLE IF NOT EXISTS {{ dashboard_role }};
GRANT USAGE ON DATABASE {{ database }} TO ROLE {{ dashboard_role }};
GRANT USAGE ON SCHEMA {{ ns }} TO ROLE {{ dashboard_role }};
GRANT USAGE ON WAREHOUSE {{ warehouse }} TO ROLE {{ dashboard_role }};
GRANT SELECT ON ALL TABLES IN SCHEMA {{ ns }} TO ROLE {{ dashboard_role }};
GRANT SELECT ON ALL DYNAMIC TABLES IN SCHEMA {{ ns }} TO ROLE {{ dashboard_role }};
GRANT SELECT ON FUTURE DYNAMIC TABLES IN SCHEMA {{ ns }} TO ROLE {{ dashboard_role }};
GRANT MONITOR ON ALL TASKS IN SCHEMA {{ ns }} TO ROLE {{ dashboard_role }};
GRANT MONITOR ON ALL DYNAMIC TABLES IN SCHEMA {{ ns }} TO ROLE {{ dashboard_role }};
{% endif %}

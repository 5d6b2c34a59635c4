-- One row per server and calendar month (UTC): the distinct users who visited content or
-- started a Shiny session that month (anonymous visits have no user and are not counted),
-- then the same users split by their role on the server now (a user deleted since counts in
-- active_users only).
WITH activity AS (
    SELECT server, user_guid, "time" AS happened
    FROM ${data}.content_visits
    WHERE user_guid IS NOT NULL
    UNION ALL
    SELECT server, user_guid, started AS happened
    FROM ${data}.shiny_usage
    WHERE user_guid IS NOT NULL
),
monthly AS (
    SELECT DISTINCT
        server,
        user_guid,
        CAST(date_trunc('month', happened AT TIME ZONE 'UTC') AS DATE) AS month
    FROM activity
    WHERE happened <= ${as_of}
)
SELECT
    monthly.server,
    monthly.month,
    COUNT(*) AS active_users,
    COUNT(CASE WHEN users.user_role = 'administrator' THEN 1 END) AS administrators,
    COUNT(CASE WHEN users.user_role = 'publisher' THEN 1 END) AS publishers,
    COUNT(CASE WHEN users.user_role = 'viewer' THEN 1 END) AS viewers,
    ${as_of} AS as_of
FROM monthly
LEFT JOIN ${data}.users AS users
    ON users.server = monthly.server
    AND users.guid = monthly.user_guid
    AND users._dlt_valid_to IS NULL
GROUP BY monthly.server, monthly.month

-- One row per current content item: visits in the 7, 30 and 90 days before the run started,
-- distinct signed-in viewers and Shiny session hours in the last 30 days, the last visit ever.
WITH visits AS (
    SELECT
        server,
        content_guid,
        COUNT(CASE WHEN "time" > ${as_of} - INTERVAL '7 days' THEN 1 END) AS visits_7d,
        COUNT(CASE WHEN "time" > ${as_of} - INTERVAL '30 days' THEN 1 END) AS visits_30d,
        COUNT(CASE WHEN "time" > ${as_of} - INTERVAL '90 days' THEN 1 END) AS visits_90d,
        COUNT(DISTINCT CASE WHEN "time" > ${as_of} - INTERVAL '30 days' THEN user_guid END)
            AS viewers_30d,
        MAX("time") AS last_visit
    FROM ${data}.content_visits
    WHERE "time" <= ${as_of}
    GROUP BY server, content_guid
),
shiny AS (
    SELECT
        server,
        content_guid,
        SUM(
            CAST(EXTRACT(EPOCH FROM ended) AS DOUBLE PRECISION)
            - CAST(EXTRACT(EPOCH FROM started) AS DOUBLE PRECISION)
        ) / 3600 AS shiny_hours_30d
    FROM ${data}.shiny_usage
    WHERE started > ${as_of} - INTERVAL '30 days' AND started <= ${as_of}
    GROUP BY server, content_guid
)
SELECT
    content.server,
    content.guid AS content_guid,
    content.name,
    content.title,
    content.owner,
    content.owner_email,
    content.app_mode,
    COALESCE(visits.visits_7d, 0) AS visits_7d,
    COALESCE(visits.visits_30d, 0) AS visits_30d,
    COALESCE(visits.visits_90d, 0) AS visits_90d,
    COALESCE(visits.viewers_30d, 0) AS viewers_30d,
    COALESCE(shiny.shiny_hours_30d, 0) AS shiny_hours_30d,
    visits.last_visit,
    ${as_of} AS as_of
FROM (${current_content}) AS content
LEFT JOIN visits ON visits.server = content.server AND visits.content_guid = content.guid
LEFT JOIN shiny ON shiny.server = content.server AND shiny.content_guid = content.guid

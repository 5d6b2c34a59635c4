-- The clean-up list: current content items nobody visited in the last ${stale_days} days
-- (STALE_CONTENT_DAYS) before the run started, or ever.
WITH last_visits AS (
    SELECT server, content_guid, MAX("time") AS last_visit
    FROM ${data}.content_visits
    WHERE "time" <= ${as_of}
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
    content.last_deployed_time,
    last_visits.last_visit,
    ${as_of} AS as_of
FROM (${current_content}) AS content
LEFT JOIN last_visits
    ON last_visits.server = content.server AND last_visits.content_guid = content.guid
WHERE (
        last_visits.last_visit IS NULL
        OR last_visits.last_visit <= ${as_of} - INTERVAL '${stale_days} days'
    )

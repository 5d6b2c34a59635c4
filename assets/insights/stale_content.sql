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
    owners.username AS owner,
    owners.email AS owner_email,
    content.app_mode,
    content.last_deployed_time,
    last_visits.last_visit,
    ${as_of} AS as_of
FROM ${data}.content AS content
LEFT JOIN ${data}.users AS owners
    ON owners.server = content.server
    AND owners.guid = content.owner_guid
    AND owners._dlt_valid_to IS NULL
LEFT JOIN last_visits
    ON last_visits.server = content.server AND last_visits.content_guid = content.guid
WHERE content._dlt_valid_to IS NULL
    AND (
        last_visits.last_visit IS NULL
        OR last_visits.last_visit <= ${as_of} - INTERVAL '${stale_days} days'
    )

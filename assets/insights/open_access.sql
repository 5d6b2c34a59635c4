-- Current content items anyone can open (access_type 'all', no login) or every signed-in
-- user can (access_type 'logged_in'): connectapi's audit_access_open, with 30-day visits.
WITH visits AS (
    SELECT server, content_guid, COUNT(*) AS visits_30d
    FROM ${data}.content_visits
    WHERE "time" > ${as_of} - INTERVAL '30 days' AND "time" <= ${as_of}
    GROUP BY server, content_guid
)
SELECT
    content.server,
    content.guid AS content_guid,
    content.name,
    content.title,
    content.access_type,
    owners.username AS owner,
    owners.email AS owner_email,
    content.app_mode,
    COALESCE(visits.visits_30d, 0) AS visits_30d,
    ${as_of} AS as_of
FROM ${data}.content AS content
LEFT JOIN ${data}.users AS owners
    ON owners.server = content.server
    AND owners.guid = content.owner_guid
    AND owners._dlt_valid_to IS NULL
LEFT JOIN visits ON visits.server = content.server AND visits.content_guid = content.guid
WHERE content._dlt_valid_to IS NULL AND content.access_type IN ('all', 'logged_in')

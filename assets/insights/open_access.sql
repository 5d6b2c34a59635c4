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
    content.owner,
    content.owner_email,
    content.app_mode,
    COALESCE(visits.visits_30d, 0) AS visits_30d,
    ${as_of} AS as_of
FROM (${current_content}) AS content
LEFT JOIN visits ON visits.server = content.server AND visits.content_guid = content.guid
WHERE content.access_type IN ('all', 'logged_in')

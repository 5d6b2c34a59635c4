-- Not an insight: the current content items of every server with their owner's user name and
-- e-mail address: the subquery the content insights share.
SELECT
    content.*,
    owners.username AS owner,
    owners.email AS owner_email
FROM ${data}.content AS content
LEFT JOIN ${data}.users AS owners
    ON owners.server = content.server
    AND owners.guid = content.owner_guid
    AND owners._dlt_valid_to IS NULL
WHERE content._dlt_valid_to IS NULL

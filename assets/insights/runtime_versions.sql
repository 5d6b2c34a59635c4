-- One row per server, runtime (r, python, quarto) and version: how many current content items
-- were deployed with it. Built from the content alone; whether the version is still installed
-- needs the server's list of runtimes, which these tables do not hold yet.
WITH uses AS (
    SELECT server, CAST('r' AS VARCHAR) AS runtime, r_version AS version
    FROM ${data}.content
    WHERE _dlt_valid_to IS NULL AND r_version IS NOT NULL
    UNION ALL
    SELECT server, CAST('python' AS VARCHAR), py_version
    FROM ${data}.content
    WHERE _dlt_valid_to IS NULL AND py_version IS NOT NULL
    UNION ALL
    SELECT server, CAST('quarto' AS VARCHAR), quarto_version
    FROM ${data}.content
    WHERE _dlt_valid_to IS NULL AND quarto_version IS NOT NULL
)
SELECT server, runtime, version, COUNT(*) AS content_items, ${as_of} AS as_of
FROM uses
GROUP BY server, runtime, version

-- One row per server, runtime and version that current content was deployed with or that the
-- server has installed (the `runtimes` table): how many current content items use it, and
-- whether it is installed. A version in use but not installed is content that will not run
-- again as deployed; one installed and unused is a candidate for removal.
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
),
used AS (
    SELECT server, runtime, version, COUNT(*) AS content_items
    FROM uses
    GROUP BY server, runtime, version
),
installed AS (
    SELECT DISTINCT server, runtime, version
    FROM ${data}.runtimes
    WHERE _dlt_valid_to IS NULL
)
SELECT
    COALESCE(used.server, installed.server) AS server,
    COALESCE(used.runtime, installed.runtime) AS runtime,
    COALESCE(used.version, installed.version) AS version,
    COALESCE(used.content_items, 0) AS content_items,
    installed.version IS NOT NULL AS installed,
    ${as_of} AS as_of
FROM used
FULL OUTER JOIN installed
    ON installed.server = used.server
    AND installed.runtime = used.runtime
    AND installed.version = used.version

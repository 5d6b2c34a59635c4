-- One row per current service: its jobs created in the 7 and 30 days before the run started
-- and the share of the finished ones that failed (failed / (succeeded + failed); NULL when
-- none finished), and its newest job.
WITH recent AS (
    SELECT
        server,
        service,
        COUNT(CASE WHEN creation_time > ${as_of} - INTERVAL '7 days' THEN 1 END) AS jobs_7d,
        COUNT(CASE WHEN creation_time > ${as_of} - INTERVAL '7 days'
            AND status = 'Succeeded' THEN 1 END) AS succeeded_7d,
        COUNT(CASE WHEN creation_time > ${as_of} - INTERVAL '7 days'
            AND status = 'Failed' THEN 1 END) AS failed_7d,
        COUNT(CASE WHEN creation_time > ${as_of} - INTERVAL '30 days' THEN 1 END) AS jobs_30d,
        COUNT(CASE WHEN creation_time > ${as_of} - INTERVAL '30 days'
            AND status = 'Succeeded' THEN 1 END) AS succeeded_30d,
        COUNT(CASE WHEN creation_time > ${as_of} - INTERVAL '30 days'
            AND status = 'Failed' THEN 1 END) AS failed_30d,
        MAX(creation_time) AS last_job
    FROM ${data}.jobs
    WHERE creation_time <= ${as_of}
    GROUP BY server, service
),
counted AS (
    SELECT
        services.server,
        services.name AS service,
        services.owner,
        services.vo,
        COALESCE(recent.jobs_7d, 0) AS jobs_7d,
        COALESCE(recent.succeeded_7d, 0) AS succeeded_7d,
        COALESCE(recent.failed_7d, 0) AS failed_7d,
        COALESCE(recent.jobs_30d, 0) AS jobs_30d,
        COALESCE(recent.succeeded_30d, 0) AS succeeded_30d,
        COALESCE(recent.failed_30d, 0) AS failed_30d,
        recent.last_job
    FROM ${data}.services AS services
    LEFT JOIN recent ON recent.server = services.server AND recent.service = services.name
    WHERE services._dlt_valid_to IS NULL
)
SELECT
    server,
    service,
    owner,
    vo,
    jobs_7d,
    succeeded_7d,
    failed_7d,
    CASE WHEN succeeded_7d + failed_7d > 0
        THEN CAST(failed_7d AS DOUBLE PRECISION) / (succeeded_7d + failed_7d) END
        AS failure_rate_7d,
    jobs_30d,
    succeeded_30d,
    failed_30d,
    CASE WHEN succeeded_30d + failed_30d > 0
        THEN CAST(failed_30d AS DOUBLE PRECISION) / (succeeded_30d + failed_30d) END
        AS failure_rate_30d,
    last_job,
    ${as_of} AS as_of
FROM counted

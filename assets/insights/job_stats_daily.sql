-- One row per server, day of creation (UTC) and service: the jobs OSCAR still lists
-- (it deletes them after its TTL, 30 days by default) and how they ended. Run time is
-- finish - start of finished jobs, queue time start - creation of started ones.
WITH timed AS (
    SELECT
        server,
        service,
        status,
        CAST(creation_time AT TIME ZONE 'UTC' AS DATE) AS day,
        CAST(EXTRACT(EPOCH FROM finish_time) AS DOUBLE PRECISION)
            - CAST(EXTRACT(EPOCH FROM start_time) AS DOUBLE PRECISION) AS run_seconds,
        CAST(EXTRACT(EPOCH FROM start_time) AS DOUBLE PRECISION)
            - CAST(EXTRACT(EPOCH FROM creation_time) AS DOUBLE PRECISION) AS queue_seconds
    FROM ${data}.jobs
    WHERE creation_time <= ${as_of}
)
SELECT
    server,
    day,
    service,
    COUNT(*) AS jobs,
    COUNT(CASE WHEN status = 'Succeeded' THEN 1 END) AS succeeded,
    COUNT(CASE WHEN status = 'Failed' THEN 1 END) AS failed,
    COUNT(CASE WHEN status IN ('Running', 'Pending') THEN 1 END) AS running_or_pending,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY run_seconds) AS median_run_seconds,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY run_seconds) AS p95_run_seconds,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY queue_seconds) AS median_queue_seconds,
    ${as_of} AS as_of
FROM timed
GROUP BY server, day, service

"""Usage and operations insights: SQL models over the loaded tables (one `.sql` file per
insight here), each a Dagster asset with a chart, refreshed after the tables it reads load
(docs/insights.md)."""

"""The software-defined assets and the dlt sources they are built on.

- `posit_connect/`, `oscar/`: one dlt source per API (`@dlt.source` in `__init__.py`, the
  endpoint catalog in `settings.py`). They import nothing of Dagster and run from a plain dlt
  script; `_catalog.py`, `_http.py`, `_arrow.py`, `row_versions.py` and `errors.py` are what
  they share.
- `dlt_assets.py` (the multi-asset per API and server), `checks.py`, `translator.py`,
  `cadence.py`, `materialization.py`, `dagster_settings.py`: the Dagster side, built from the
  catalogs. `orchestration/` adds jobs, schedules and sensors and assembles the definitions.
"""

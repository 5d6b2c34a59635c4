"""The Posit Connect catalog: one entry per table. Adding an endpoint means adding one here."""

from assets._catalog import ROW_KEY_COLUMN, Custom, Endpoint, Events, FanOut, Latest, NestedList
from assets.posit_connect.auth import SESSION_TOKEN_ENV
from assets.posit_connect.server import (
    ENVIRONMENT_RUNTIMES,
    derive_runtimes,
    derive_server_info,
    environment_row,
    hit_row,
)

SECTION = "posit_connect_source"
PIPELINE_NAME = "posit_connect_pipeline"
DATASET_NAME = "posit_connect_data"
DUCKDB_FILE = "posit_connect.duckdb"
API_PREFIX = "/__api__"
PAGE_SIZE = 500
DEFAULT_MAX_CONCURRENCY = 12

ADMIN = "an administrator's API key (user_role administrator)"
PUBLISHER = "an API key of a publisher or administrator"
OAUTH_VERSION = "Posit Connect 2024.08.0 or later, the first with OAuth integrations"
# First versions with a route or a value (posit-sdk `@requires`, connectapi version guards).
PACKAGES_VERSION = "Posit Connect 2024.11.0 or later, the first with GET /v1/packages"
HITS_VERSION = "Posit Connect 2025.04.0 or later, the first with content hits"
ENVIRONMENTS_VERSION = "Posit Connect 2023.05.0 or later, the first with execution environments"
# `include` values of GET /v1/content and the first server version that knows each; an older
# server is asked without them (see ConnectApi.pages).
INCLUDE_SINCE = {"vanity_url": "2024.06.0"}
JOBS_VERSION = "Posit Connect 2022.10.0 or later, the first with /v1/content/{guid}/jobs"

CONTENT_TIMESTAMPS = ("created_time", "last_deployed_time")
CONTENT_IDS = ("guid", "id", "bundle_id", "owner_guid")
# Content settings that are null unless an admin set them; typed so the columns always exist.
CONTENT_OPTIONAL = {
    **dict.fromkeys(
        (
            "connection_timeout",
            "read_timeout",
            "init_timeout",
            "idle_timeout",
            "max_processes",
            "min_processes",
            "max_conns_per_process",
            "memory_request",
            "memory_limit",
            "amd_gpu_limit",
            "nvidia_gpu_limit",
        ),
        "bigint",
    ),
    # null on real servers until an admin sets them (posit-sdk's recorded content fixtures)
    "default_r_environment_management": "bool",
    "default_py_environment_management": "bool",
    "load_factor": "double",
    "cpu_request": "double",
    "cpu_limit": "double",
    **dict.fromkeys(
        (
            "service_account_name",
            "default_image_name",
            "image_name",
            "run_as",
            "cluster_name",
            "r_version",
            "py_version",
            "quarto_version",
            "vanity_url",
            "locked_message",
        ),
        "text",
    ),
}

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        table="content",
        path="/v1/content",
        params={"include": "owner,tags,vanity_url"},
        key=("guid",),
        description=(
            "Every content item published on the server: its owner, settings, runtime versions, "
            "tags and vanity URL (on Connect 2024.06.0 and later). One row per item and version "
            "(GET /v1/content?include=owner,tags,vanity_url); "
            "current rows have _dlt_valid_to NULL, and an item changed or deleted on the server "
            "keeps its old version with _dlt_valid_to set. Tags are the child table "
            "content__tags (_dlt_parent_id joins content._dlt_id)."
        ),
        string_columns=CONTENT_IDS,
        timestamp_columns=CONTENT_TIMESTAMPS,
        column_types=CONTENT_OPTIONAL,
        nested=(NestedList("tags", timestamp_columns=("created_time", "updated_time")),),
    ),
    Endpoint(
        table="content_item",
        path="/v1/content/{guid}",
        load=FanOut(parent="content", change_field="last_deployed_time"),
        key=("guid",),
        description=(
            "Each content item's full record as the item itself reports it, one row per item "
            "and version. Requested one item at a time (GET /v1/content/{guid}), only when an "
            "item is new or redeployed (last_deployed_time); an item gone from the server gets "
            "a row with deleted_time set that retires the old one."
        ),
        string_columns=CONTENT_IDS,
        timestamp_columns=CONTENT_TIMESTAMPS,
        column_types=CONTENT_OPTIONAL,
    ),
    Endpoint(
        table="content_permissions",
        path="/v1/content/{guid}/permissions",
        load=FanOut(parent="content", change_field="last_deployed_time"),
        key=("content_guid",),
        unique_key=("id",),
        may_be_empty=True,
        description=(
            "Who may view or change each content item: one row per grant to a user or group "
            "(GET /v1/content/{guid}/permissions). principal_guid joins users.guid or "
            "groups.guid by principal_type."
        ),
        string_columns=("id", "content_guid", "principal_guid"),
    ),
    Endpoint(
        table="bundles",
        path="/v1/content/{guid}/bundles",
        load=FanOut(parent="content", change_field="last_deployed_time"),
        paging="page_number_until_empty",
        params={"page_size": PAGE_SIZE},
        key=("content_guid",),
        unique_key=("id",),
        may_be_empty=True,
        requires=f"{PUBLISHER} for the runtime columns (a viewer's key gets them NULL)",
        description=(
            "Every deployment bundle of each content item: when it was uploaded and by whom, "
            "its size, the R, Python and Quarto versions it was restored with, whether it is "
            "the active one, and its git source (GET /v1/content/{guid}/bundles, paged until an "
            "empty page). Requested only for items new or redeployed since the last run "
            "(last_deployed_time); a bundle deleted on the server or no longer active gets a "
            "new version, and an item gone from the server a row with deleted_time set."
        ),
        string_columns=("id", "content_guid", "created_by", "environment_guid"),
        timestamp_columns=("created_time",),
        column_types={
            **dict.fromkeys(
                ("r_version", "py_version", "quarto_version", "cluster_name", "image_name"),
                "text",
            ),
            "r_environment_management": "bool",
            "py_environment_management": "bool",
        },
    ),
    Endpoint(
        table="content_jobs",
        path="/v1/content/{guid}/jobs",
        load=Latest(parent="content"),
        key=("content_guid", "key"),
        may_be_empty=True,
        cadence="daily",
        requires=f"{ADMIN}, and {JOBS_VERSION}",
        description=(
            "Every process each content item ran (renders, app and API processes, package "
            "restores): when it started and ended, its status, exit code, host and tag. "
            "GET /v1/content/{guid}/jobs for every item, on the daily schedule: a job's "
            "end_time, exit_code and status fill in after it is first seen, so each job is "
            "replaced by its newest version on (content_guid, key), and a job the server "
            "pruned stays as last seen. Job logs are never read."
        ),
        string_columns=(
            "id",
            "ppid",
            "pid",
            "key",
            "remote_id",
            "app_id",
            "content_id",
            "content_guid",
            "variant_id",
            "bundle_id",
        ),
        timestamp_columns=("start_time", "end_time", "last_heartbeat_time", "queued_time"),
        column_types={
            **dict.fromkeys(
                ("queue_name", "error", "hostname", "cluster", "image", "run_as", "skip_reason"),
                "text",
            ),
            "exit_code": "bigint",
        },
    ),
    Endpoint(
        table="environment_variables",
        path="/v1/content/{guid}/environment",
        load=FanOut(parent="content"),
        key=("content_guid",),
        unique_key=("content_guid", "name"),
        may_be_empty=True,
        cadence="daily",
        unpack=lambda name: [{"name": name}],
        requires=ADMIN,
        description=(
            "The names of the environment variables set on each content item, one row per "
            "item and name (GET /v1/content/{guid}/environment for every item, on the "
            "daily schedule). The API returns names only and this loader never asks for "
            "or stores a value; a name removed from the item gets a new version."
        ),
        string_columns=("content_guid", "name"),
    ),
    Endpoint(
        table="oauth_associations",
        path="/v1/content/{guid}/oauth/integrations/associations",
        load=FanOut(parent="content"),
        key=("content_guid",),
        unique_key=("content_guid", "oauth_integration_guid"),
        may_be_empty=True,
        cadence="daily",
        requires=f"{ADMIN}, and {OAUTH_VERSION}",
        description=(
            "Which content item uses which OAuth integration: one row per item and integration "
            "(GET /v1/content/{guid}/oauth/integrations/associations for every item, on the "
            "daily schedule). oauth_integration_guid joins oauth_integrations.guid."
        ),
        string_columns=("content_guid", "app_guid", "oauth_integration_guid"),
        timestamp_columns=("created_time",),
    ),
    Endpoint(
        table="oauth_integrations",
        path="/v1/oauth/integrations",
        key=("guid",),
        may_be_empty=True,
        requires=f"{PUBLISHER}, and {OAUTH_VERSION}",
        description=(
            "Every OAuth integration configured on the server (Azure, Databricks, Snowflake, "
            "...): its template, auth type and settings. GET /v1/oauth/integrations."
        ),
        string_columns=("id", "guid"),
        timestamp_columns=("created_time", "updated_time"),
    ),
    Endpoint(
        table="oauth_sessions",
        path="/v1/oauth/sessions",
        params={"all": "true"},
        key=("guid",),
        may_be_empty=True,
        requires=f"{ADMIN} to list every user's sessions, and {OAUTH_VERSION}",
        description=(
            "Which users have signed in to which OAuth integration: one row per session "
            "(GET /v1/oauth/sessions?all=true). user_guid joins users, oauth_integration_guid "
            "joins oauth_integrations."
        ),
        string_columns=("id", "guid", "user_guid", "oauth_integration_guid"),
        timestamp_columns=("created_time", "updated_time"),
    ),
    Endpoint(
        table="oauth_credentials",
        path="/v1/oauth/integrations/credentials",
        load=Custom(),
        may_be_empty=True,
        empty_unless=SESSION_TOKEN_ENV,
        requires=f"{SESSION_TOKEN_ENV} (set when running on Connect) and {OAUTH_VERSION}",
        description=(
            "Credential exchanges this pipeline made: one row per exchange, with token types, "
            "expiry and when. Empty, by design, on an install that uses an API key: rows "
            f"appear only when the loader runs on Connect with {SESSION_TOKEN_ENV} and trades "
            "it for a visitor key (POST /v1/oauth/integrations/credentials, RFC 8693). Token "
            "values are used to authenticate and never stored."
        ),
        timestamp_columns=("exchanged_at", "expires_at"),
    ),
    Endpoint(
        table="users",
        path="/v1/users",
        paging="page_number",
        params={"page_size": PAGE_SIZE},
        key=("guid",),
        description=(
            "Every user account on the server: name, e-mail, role and when each was last "
            "active. GET /v1/users, paged. guid joins content.owner_guid, "
            "content_visits.user_guid and shiny_usage.user_guid."
        ),
        string_columns=("guid",),
        timestamp_columns=("created_time", "updated_time", "active_time"),
    ),
    Endpoint(
        table="groups",
        path="/v1/groups",
        paging="page_number",
        params={"page_size": PAGE_SIZE},
        key=("guid",),
        may_be_empty=True,
        description="Every group of users on the server: one row per group (GET /v1/groups).",
        string_columns=("guid", "owner_guid"),
    ),
    Endpoint(
        table="group_members",
        path="/v1/groups/{guid}/members",
        load=FanOut(parent="groups"),
        paging="page_number",
        params={"page_size": PAGE_SIZE},
        key=("group_guid",),
        unique_key=("group_guid", "guid"),
        may_be_empty=True,
        description=(
            "Who is in which group: one row per group and member "
            "(GET /v1/groups/{guid}/members). group_guid joins groups.guid, guid joins users.guid."
        ),
        string_columns=("guid", "group_guid"),
        timestamp_columns=("created_time", "updated_time", "active_time"),
    ),
    Endpoint(
        table="tags",
        path="/v1/tags",
        key=("id",),
        may_be_empty=True,
        description=(
            "Every tag content can carry, as the server's tag tree: one row per tag "
            "(GET /v1/tags); parent_id points to the parent tag."
        ),
        string_columns=("id", "parent_id"),
        timestamp_columns=("created_time", "updated_time"),
    ),
    Endpoint(
        table="audit_logs",
        path="/v1/audit_logs",
        load=Events(cursor="time", descending=True),
        paging="keyset",
        params={"limit": PAGE_SIZE, "ascOrder": "false"},
        key=("id",),
        requires=ADMIN,
        description=(
            "Who did what on the server, from its audit log: one row per action (a deploy, a "
            "permission change, a login ...). Loaded newest first from GET /v1/audit_logs, "
            "stopping at the last entry already loaded; user_guid joins users."
        ),
        string_columns=("id", "user_id", "user_guid"),
        timestamp_columns=("time",),
    ),
    Endpoint(
        table="content_visits",
        path="/v1/instrumentation/content/visits",
        load=Events(cursor="time", cursor_param="from", end_param="to"),
        paging="keyset",
        params={"limit": PAGE_SIZE, "asc_order": "true"},
        key=(ROW_KEY_COLUMN,),
        may_be_empty=True,
        requires=PUBLISHER,
        description=(
            "Every visit to a content item (a page view of a report, a document, an API call "
            "to a hosted app): who, what and when. GET /v1/instrumentation/content/visits, "
            "incremental from the last visit loaded. Join content_guid to content.guid and "
            "user_guid to users.guid; row_key is a hash of the visit's fields."
        ),
        string_columns=("content_guid", "user_guid", "rendering_id", "bundle_id"),
        timestamp_columns=("time",),
    ),
    Endpoint(
        table="shiny_usage",
        path="/v1/instrumentation/shiny/usage",
        load=Events(cursor="started", cursor_param="from", end_param="to"),
        paging="keyset",
        params={"limit": PAGE_SIZE, "asc_order": "true"},
        key=(ROW_KEY_COLUMN,),
        may_be_empty=True,
        requires=PUBLISHER,
        description=(
            "Every session of a Shiny app, with who used it and from when to when: one row per "
            "session (GET /v1/instrumentation/shiny/usage, incremental). Join content_guid to "
            "content.guid and user_guid to users.guid; row_key is a hash of the session's fields."
        ),
        string_columns=("content_guid", "user_guid"),
        timestamp_columns=("started", "ended"),
    ),
    Endpoint(
        table="packages",
        path="/v1/packages",
        paging="page_number",
        params={"page_size": PAGE_SIZE},
        key=("content_guid", "bundle_id", "language", "name"),
        may_be_empty=True,
        requires=PACKAGES_VERSION,
        cadence="daily",
        description=(
            "Every package every deployed bundle depends on, server-wide: which content runs "
            "which version of which R or Python package (GET /v1/packages, paged). Content "
            "whose environment management is off is not listed. content_guid joins content.guid. "
            "Refreshed daily (it changes only on deploys): one request per 500 packages."
        ),
        string_columns=("bundle_id", "content_id", "app_id"),
    ),
    Endpoint(
        table="runtimes",
        path="/v1/server_settings/{runtime}",
        key=("runtime", "version", "cluster_name", "image_name"),
        requires=PUBLISHER,
        derive=derive_runtimes,
        description=(
            "The runtime versions installed on the server: one row per runtime (r, python, "
            "quarto, tensorflow, nodejs), version, cluster and image, from one request per "
            "runtime (GET /v1/server_settings/{runtime}); a runtime an older server does not "
            "know is left out with a note. Five requests per run."
        ),
    ),
    Endpoint(
        table="environments",
        path="/v1/environments",
        key=("guid",),
        may_be_empty=True,
        requires=f"{PUBLISHER}, and {ENVIRONMENTS_VERSION}",
        unpack=environment_row,
        column_types={
            **{f"{runtime}_versions": "text" for runtime in ENVIRONMENT_RUNTIMES},
            "volume_mounts": "text",
        },
        description=(
            "Execution environments (container images) content can run in, on servers that run "
            "content off-host (Kubernetes); empty on others (GET /v1/environments). One "
            "request per run."
        ),
        string_columns=("id", "guid"),
        timestamp_columns=("created_time", "updated_time"),
    ),
    Endpoint(
        table="runtime_caches",
        path="/v1/system/caches/runtime",
        key=("language", "version", "image_name"),
        may_be_empty=True,
        requires=ADMIN,
        unpack=lambda body: body.get("caches") or [],
        description=(
            "The package caches the server keeps per runtime version and image "
            "(GET /v1/system/caches/runtime; the loader only reads, never deletes them). One "
            "request per run."
        ),
    ),
    Endpoint(
        table="server_info",
        path="/server_settings",
        key=("scope", "hostname"),
        requires=f"{ADMIN} for the nodes (GET /v1/system/hosts)",
        derive=derive_server_info,
        description=(
            "The server's version (GET /__api__/server_settings; NULL when the administrator "
            "hides it) and each node of the cluster with its version (GET /v1/system/hosts). "
            "A new row version when a version changes or a node comes or goes. Two requests "
            "per run (the first is shared with every table: it tells the server's version)."
        ),
    ),
    Endpoint(
        table="content_hits",
        path="/v1/instrumentation/content/hits",
        load=Events(cursor="timestamp", cursor_param="from", end_param="to"),
        paging="window",
        key=("id",),
        may_be_empty=True,
        requires=f"{PUBLISHER} (a publisher sees their own content's hits), and {HITS_VERSION}",
        unpack=hit_row,
        description=(
            "Every request to a content item, from Connect's unified usage log "
            "(GET /v1/instrumentation/content/hits): who, which item, when, path and user "
            "agent. The API has no paging, so it is loaded in bounded from/to windows, "
            "incrementally from the last hit loaded: one request per run, and on the first load "
            "one per window (sized to about 5,000 hits, at most 31 days) from the server's "
            "first user or content item. Query strings are reduced to their parameter names "
            "(they can carry tokens)."
        ),
        string_columns=("id", "user_guid", "content_guid"),
        timestamp_columns=("timestamp",),
    ),
)

CATALOG = {endpoint.table: endpoint for endpoint in ENDPOINTS}

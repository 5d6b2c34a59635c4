"""The Posit Connect catalog: one entry per table. Adding an endpoint means adding one here."""

from assets._catalog import ROW_KEY_COLUMN, Endpoint, NestedList

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
        params={"include": "owner,tags"},
        key=("guid",),
        description=(
            "Every content item on the server (GET /v1/content?include=owner,tags), one row per "
            "item and version: settings, runtime versions, owner (owner__*) and tags "
            "(child table content__tags: _dlt_parent_id joins content._dlt_id). Current rows "
            "have _dlt_valid_to NULL; an item changed or deleted on the server keeps its old "
            "version with _dlt_valid_to set."
        ),
        string_columns=CONTENT_IDS,
        timestamp_columns=CONTENT_TIMESTAMPS,
        column_types=CONTENT_OPTIONAL,
        nested=(NestedList("tags", timestamp_columns=("created_time", "updated_time")),),
    ),
    Endpoint(
        table="content_item",
        path="/v1/content/{guid}",
        mode="fanout",
        parent="content",
        change_field="last_deployed_time",
        key=("guid",),
        description=(
            "One GET /v1/content/{guid} per content item, re-requested only when the item is new "
            "or its last_deployed_time changed. One row per item version; an item gone from the "
            "server gets a row with deleted_time set that retires the old one."
        ),
        string_columns=CONTENT_IDS,
        timestamp_columns=CONTENT_TIMESTAMPS,
        column_types=CONTENT_OPTIONAL,
    ),
    Endpoint(
        table="content_permissions",
        path="/v1/content/{guid}/permissions",
        mode="fanout",
        parent="content",
        change_field="last_deployed_time",
        key=("content_guid",),
        unique_key=("id",),
        may_be_empty=True,
        description=(
            "Who may view or change each content item (GET /v1/content/{guid}/permissions): one "
            "row per grant, principal_guid joins users.guid or groups.guid by principal_type."
        ),
        string_columns=("id", "content_guid", "principal_guid"),
    ),
    Endpoint(
        table="oauth_integrations",
        path="/v1/oauth/integrations",
        key=("guid",),
        may_be_empty=True,
        requires=f"{PUBLISHER}, and {OAUTH_VERSION}",
        description=(
            "OAuth integrations configured on the server (GET /v1/oauth/integrations): one row "
            "per integration with its template, auth type and config."
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
            "OAuth sessions (GET /v1/oauth/sessions?all=true): one row per user session with an "
            "integration; user_guid joins users, oauth_integration_guid joins oauth_integrations."
        ),
        string_columns=("id", "guid", "user_guid", "oauth_integration_guid"),
        timestamp_columns=("created_time", "updated_time"),
    ),
    Endpoint(
        table="oauth_credentials",
        path="/v1/oauth/integrations/credentials",
        mode="custom",
        may_be_empty=True,
        requires=f"CONNECT_CONTENT_SESSION_TOKEN (set when running on Connect) and {OAUTH_VERSION}",
        description=(
            "Credential exchanges this pipeline made (POST /v1/oauth/integrations/credentials, "
            "RFC 8693), one row per exchange: token types, expiry and when. Token values are "
            "used to authenticate and never stored."
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
            "Users (GET /v1/users, paged): one row per user with role and activity times. "
            "guid joins content.owner_guid, content_visits.user_guid, shiny_usage.user_guid."
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
        description="Groups (GET /v1/groups, paged): one row per group.",
        string_columns=("guid", "owner_guid"),
    ),
    Endpoint(
        table="group_members",
        path="/v1/groups/{guid}/members",
        mode="fanout",
        paging="page_number",
        params={"page_size": PAGE_SIZE},
        parent="groups",
        key=("group_guid",),
        unique_key=("group_guid", "guid"),
        may_be_empty=True,
        description=(
            "Members of each group (GET /v1/groups/{guid}/members): one row per group and user; "
            "group_guid joins groups.guid, guid joins users.guid."
        ),
        string_columns=("guid", "group_guid"),
        timestamp_columns=("created_time", "updated_time", "active_time"),
    ),
    Endpoint(
        table="tags",
        path="/v1/tags",
        key=("id",),
        may_be_empty=True,
        description="Content tags (GET /v1/tags): one row per tag; parent_id builds the tree.",
        string_columns=("id", "parent_id"),
        timestamp_columns=("created_time", "updated_time"),
    ),
    Endpoint(
        table="audit_logs",
        path="/v1/audit_logs",
        mode="events",
        paging="keyset",
        params={"limit": PAGE_SIZE, "ascOrder": "false"},
        descending=True,
        key=("id",),
        cursor="time",
        requires=ADMIN,
        description=(
            "The server's audit log (GET /v1/audit_logs, keyset paging, newest first, stopping "
            "at the last entry already loaded): one row per action; user_guid joins users."
        ),
        string_columns=("id", "user_id", "user_guid"),
        timestamp_columns=("time",),
    ),
    Endpoint(
        table="content_visits",
        path="/v1/instrumentation/content/visits",
        mode="events",
        paging="keyset",
        params={"limit": PAGE_SIZE, "asc_order": "true"},
        key=(ROW_KEY_COLUMN,),
        may_be_empty=True,
        cursor="time",
        cursor_param="from",
        end_param="to",
        requires=PUBLISHER,
        description=(
            "Content visits (GET /v1/instrumentation/content/visits, incremental from the last "
            "visit loaded): one row per visit. Join content_guid to content.guid and user_guid "
            "to users.guid for a usage dashboard. row_key is a hash of the visit's fields."
        ),
        string_columns=("content_guid", "user_guid", "rendering_id", "bundle_id"),
        timestamp_columns=("time",),
    ),
    Endpoint(
        table="shiny_usage",
        path="/v1/instrumentation/shiny/usage",
        mode="events",
        paging="keyset",
        params={"limit": PAGE_SIZE, "asc_order": "true"},
        key=(ROW_KEY_COLUMN,),
        may_be_empty=True,
        cursor="started",
        cursor_param="from",
        end_param="to",
        requires=PUBLISHER,
        description=(
            "Shiny app sessions (GET /v1/instrumentation/shiny/usage, incremental): one row per "
            "session with start and end. Join content_guid to content.guid and user_guid to "
            "users.guid. row_key is a hash of the session's fields."
        ),
        string_columns=("content_guid", "user_guid"),
        timestamp_columns=("started", "ended"),
    ),
)

CATALOG = {endpoint.table: endpoint for endpoint in ENDPOINTS}

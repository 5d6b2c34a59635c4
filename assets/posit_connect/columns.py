"""What each column of the Posit Connect tables means, for the Dagster UI: table -> column -> text.

Texts from Posit's Connect API reference (https://docs.posit.co/connect/api/, the OpenAPI
schemas Content, ContentOwner, Tag, Permission, Bundle, BundleMetadata, Job, OAuthIntegration,
OAuthSession, OAuthCredentials, User, Group, AuditLog, ContentVisitEntry, ShinyAppUsageEntry,
Package, RuntimeInfo/Installation, Environment, RuntimeCaches, ServerSettings, Host and Hit;
posit-sdk's Association for oauth_associations), the OAuth
integrations chapter of Posit's admin guide for the `config__*` keys, and RFC 8693 for the
credential exchange. Columns this project adds (`deleted_time`, `row_key`, `group_guid`, the
`oauth_credentials` table) are described from `assets/_catalog.py` and the source modules.
Nested objects land flattened with `__` (owner__guid); lists become child tables
(content__tags). dlt's own `_dlt_*` columns are described once in `assets/dlt_columns.py`.
"""

DELETED_TIME = (
    "Set only on a tombstone row: when this pipeline found the item gone from the server "
    "(UTC); NULL on every row read from the API."
)
ROW_KEY = (
    "Hash of the row's fields, made by this pipeline: the row's identity (the API gives none)."
)

TAG = {
    "id": "Identifier of the tag.",
    "name": "Name of the tag.",
    "parent_id": "Identifier of the parent tag (tags form a tree); NULL for a top-level tag.",
    "created_time": "When the tag was created (UTC).",
    "updated_time": "When the tag was last changed (UTC).",
}

USER = {
    "guid": "Unique identifier of the user; joins content.owner_guid, content_visits.user_guid.",
    "email": (
        "The user's email address; empty for non-admin keys when Server.HideEmailAddresses is on."
    ),
    "username": "The user's login name.",
    "first_name": "The user's first name.",
    "last_name": "The user's last name.",
    "user_role": "The user's server role: administrator, publisher or viewer.",
    "created_time": "When the user account was created on the server (UTC).",
    "updated_time": "When the user's details were last changed on the server (UTC).",
    "active_time": (
        "Roughly when the user was last active (UTC; very active users are updated only "
        "periodically); NULL if never."
    ),
    "confirmed": "False while a new password-auth user has not yet confirmed the account by email.",
    "locked": "True when the account is locked: the user cannot log in.",
    "external_id": (
        "The user's id at the authentication provider (LDAP, SAML, OAuth2); shown only to "
        "administrators."
    ),
}

CONTENT = {
    "guid": (
        "Unique identifier of the content item; joins content_permissions and the usage tables."
    ),
    "id": "Internal numeric identifier of the content item (stored as text).",
    "name": "Short identifier chosen at creation: letters, digits, '.', '-' and '_'.",
    "title": "Display title of the content item; NULL if none was set.",
    "description": "Free-text description of the content item, written by its publisher.",
    "access_type": (
        "Who may view it: all (anyone, no login), logged_in (any Connect account) or acl "
        "(listed users and groups only)."
    ),
    "locked": "True when the content item is locked (see locked_message).",
    "locked_message": "Message (Markdown) the item shows while locked; NULL if none.",
    "connection_timeout": (
        "Seconds a client connection may go without data either way; 0 never times out, NULL "
        "uses Scheduler.ConnectionTimeout."
    ),
    "read_timeout": (
        "Seconds a client connection may go without data from the browser; 0 never, NULL uses "
        "Scheduler.ReadTimeout."
    ),
    "init_timeout": (
        "Seconds an interactive app may take to start before Connect gives up; NULL uses "
        "Scheduler.InitTimeout."
    ),
    "idle_timeout": (
        "Seconds an app process with no connections stays alive; NULL uses Scheduler.IdleTimeout."
    ),
    "max_processes": (
        "Most concurrent processes of this app per Connect node; NULL uses Scheduler.MaxProcesses."
    ),
    "min_processes": (
        "Processes kept running for this app per Connect node, even when idle; NULL uses "
        "Scheduler.MinProcesses."
    ),
    "max_conns_per_process": (
        "Most client connections one process accepts, beyond which a new process starts; NULL "
        "uses Scheduler.MaxConnsPerProcess."
    ),
    "load_factor": (
        "How eagerly Connect starts new processes as connections grow; NULL uses "
        "Scheduler.LoadFactor."
    ),
    "memory_request": (
        "RAM in bytes reserved for this content when run off-host (Kubernetes); NULL uses "
        "Scheduler.MemoryRequest."
    ),
    "memory_limit": (
        "Most RAM in bytes the content may use before its process is killed; NULL uses "
        "Scheduler.MemoryLimit."
    ),
    "cpu_request": (
        "CPU in cores (fractions allowed) reserved for this content when run off-host; NULL "
        "uses Scheduler.CPURequest."
    ),
    "cpu_limit": (
        "Most CPU in cores (fractions allowed) before the process is throttled, off-host; NULL "
        "uses Scheduler.CPULimit."
    ),
    "amd_gpu_limit": (
        "AMD GPUs Kubernetes allocates to this content; NULL uses Scheduler.AMDGPULimit."
    ),
    "nvidia_gpu_limit": (
        "NVIDIA GPUs Kubernetes allocates to this content; NULL uses Scheduler.NvidiaGPULimit."
    ),
    "service_account_name": (
        "Kubernetes service account that runs this content; NULL uses the server's default account."
    ),
    "default_image_name": (
        "Container image used when the bundle's manifest names none; NULL if unset or hidden "
        "from this API key."
    ),
    "default_environment_guid": (
        "Execution environment used when the bundle's manifest names none; NULL if unset or "
        "hidden from this API key."
    ),
    "environment_guid": (
        "Execution environment the content runs in; NULL when it runs on the Connect host or "
        "is hidden from this API key."
    ),
    "created_time": "When the content item was created (UTC).",
    "last_deployed_time": "When a bundle was last deployed successfully (UTC).",
    "bundle_id": "Identifier of the active bundle (deployment); NULL until the first deployment.",
    "app_mode": (
        "Runtime type: shiny, python-fastapi, quarto-static, rmd-static, static, ...; unknown "
        "before the first deployment."
    ),
    "content_category": "Refines app_mode: plot, pin, site, mcp, ...; empty by default.",
    "parameterized": "True when an R Markdown document (app_mode rmd-static) accepts parameters.",
    "cluster_name": (
        "Where the content runs: NULL or Local on the Connect host, else the off-host "
        "cluster's name; NULL if hidden."
    ),
    "image_name": (
        "Container image the content runs in; NULL or Local on the Connect host, NULL also if "
        "hidden from this API key."
    ),
    "r_version": (
        "R version used; NULL if R is not used, the item was never deployed, or it is hidden "
        "from this API key."
    ),
    "py_version": (
        "Python version used; NULL if Python is not used, the item was never deployed, or it is "
        "hidden from this API key."
    ),
    "quarto_version": (
        "Quarto version used; NULL if Quarto is not used, the item was never deployed, or it is "
        "hidden from this API key."
    ),
    "node_version": (
        "Node.js version used; NULL if Node.js is not used, the item was never deployed, or it "
        "is hidden from this API key."
    ),
    "r_environment_management": (
        "True when Connect installed and manages the R packages; NULL if R is not used or "
        "hidden from this API key."
    ),
    "default_r_environment_management": (
        "Whether Connect should manage the R packages of this item; NULL leaves it to the "
        "server configuration."
    ),
    "py_environment_management": (
        "True when Connect installed and manages the Python packages; NULL if Python is not "
        "used or hidden."
    ),
    "default_py_environment_management": (
        "Whether Connect should manage the Python packages of this item; NULL leaves it to the "
        "server configuration."
    ),
    "run_as": "Unix user that runs the content's processes; NULL uses Applications.RunAs.",
    "run_as_current_user": "True when processes run under the visiting user's own Unix account.",
    "metrics_collection_enabled": (
        "Whether per-job CPU, memory and connection metrics are collected; NULL inherits the "
        "server default."
    ),
    "notify_on_share": (
        "Whether adding viewers or collaborators sends email by default; NULL inherits the "
        "server default."
    ),
    "otel_enabled": "Whether OpenTelemetry metrics, logs and traces are collected for this item.",
    "owner_guid": "The user who created the content item; joins users.guid.",
    "content_url": "URL where visitors open the content.",
    "dashboard_url": "URL of the item's settings page in the Connect dashboard.",
    "vanity_url": (
        "Custom path the item is also served at; NULL when none is set, and on servers before "
        "Connect 2024.06.0, which cannot include it in the list."
    ),
    "app_role": (
        "This pipeline's API key's relation to the item: owner, editor (collaborator), viewer, "
        "or none (admin)."
    ),
    "public_content_status": (
        "Licence check of public interactive content: ok, warning, restricted, unrestricted, "
        "unlicensed or none."
    ),
}

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "content": {
        **CONTENT,
        "owner__guid": "The owner's user guid (from include=owner); same as owner_guid.",
        "owner__username": "The owner's username.",
        "owner__first_name": "The owner's first name.",
        "owner__last_name": "The owner's last name.",
    },
    "content__tags": {
        **TAG,
        "id": "Identifier of a tag on this content item; joins tags.id.",
    },
    "content_item": {**CONTENT, "deleted_time": DELETED_TIME},
    "content_permissions": {
        "id": "Identifier of this permission grant.",
        "content_guid": "The content item the grant is on; joins content.guid.",
        "principal_guid": (
            "The user or group granted access: joins users.guid or groups.guid, by principal_type."
        ),
        "principal_type": "What principal_guid names: user or group.",
        "role": "Access granted: viewer, or owner (a collaborator who may change the item).",
        "deleted_time": DELETED_TIME,
    },
    "bundles": {
        "id": "Identifier of the bundle; joins content.bundle_id and content_jobs.bundle_id.",
        "content_guid": "The content item the bundle belongs to; joins content.guid.",
        "created_by": "The user who uploaded the bundle; joins users.guid; NULL if unknown.",
        "created_time": "When the bundle was created (UTC).",
        "environment_guid": (
            "The execution environment the content runs in; NULL for content running on the "
            "Connect host, or when the key may not see it."
        ),
        "cluster_name": (
            "Where the content runs: NULL or Local on the Connect host, else the cluster's "
            "name; NULL when the key may not see it."
        ),
        "image_name": (
            "Container image the content runs in (Kubernetes and other off-host execution); "
            "NULL or Local on the Connect host, NULL when the key may not see it."
        ),
        "r_version": (
            "R version the bundle was last restored with; NULL when it uses no R, is not "
            "restored yet, or for a viewer's key."
        ),
        "r_environment_management": (
            "Whether Connect manages the bundle's R environment (installs its packages); NULL "
            "when R is not used, not determined yet, or for a viewer's key."
        ),
        "py_version": (
            "Python version the bundle was last restored with; NULL when it uses no Python, "
            "is not restored yet, or for a viewer's key."
        ),
        "py_environment_management": (
            "Whether Connect manages the bundle's Python environment (installs its packages); "
            "NULL when Python is not used, not determined yet, or for a viewer's key."
        ),
        "quarto_version": (
            "Quarto version the bundle was last restored with; NULL when it uses no Quarto, "
            "is not restored yet, or for a viewer's key."
        ),
        "active": "True for the bundle the content item runs now (one per item).",
        "size": "Size of the bundle's tar.gz archive on disk, in bytes; 0 when there is no file.",
        "metadata__source": "Where the bundle came from: git for git-backed publishing, else NULL.",
        "metadata__source_repo": "URL of the git repository the bundle was built from.",
        "metadata__source_branch": "Git branch or ref the bundle was built from.",
        "metadata__source_commit": "Git commit (hash) the bundle was built from.",
        "metadata__archive_md5": (
            "MD5 hash of the bundle's archive; NULL for bundles uploaded before Connect "
            "recorded it."
        ),
        "metadata__archive_sha1": (
            "SHA1 hash of the bundle's archive; NULL for bundles uploaded before Connect "
            "recorded it."
        ),
        "deleted_time": DELETED_TIME,
    },
    "content_jobs": {
        "id": "Identifier of the job.",
        "ppid": "Process id of the job's parent process; NULL if unknown.",
        "pid": "Process id of the job.",
        "key": "Unique key of the job on the server (with content_guid, the row's identity).",
        "remote_id": "The job's identifier in off-host execution (Kubernetes); NULL on the host.",
        "app_id": "Deprecated alias of content_id.",
        "content_id": "Internal numeric identifier of the content item (stored as text).",
        "content_guid": "The content item that ran the job; joins content.guid.",
        "variant_id": "Identifier of the variant (rendering of a parameterised report) it ran.",
        "variant_key": "Key of the variant the job ran; empty if the variant is gone.",
        "bundle_id": "The bundle the job ran; joins bundles.id.",
        "start_time": "When the job started (UTC).",
        "end_time": "When the job finished (UTC); NULL while it runs.",
        "last_heartbeat_time": "When the job was last seen running (UTC).",
        "queued_time": "When a scheduled job was queued (UTC); NULL for other jobs.",
        "queue_name": "Queue that processed a scheduled job; NULL for other jobs.",
        "tag": (
            "What the job did: build_report, build_site, build_jupyter, packrat_restore, "
            "python_restore, configure_report, run_app, run_api, run_python_api, "
            "run_dash_app, run_streamlit, run_fastapi_app, render_shiny, git, ..."
        ),
        "exit_code": "The process's exit code once it finished; NULL while it runs.",
        "error": "Error message when the job failed with an unexpected server error.",
        "status": "0 active, 1 finished, 2 finalized, 3 skipped (Connect 2026.03.0+).",
        "hostname": "The node that ran the job.",
        "cluster": "Where the content ran: NULL or Local on the host, else the cluster's name.",
        "image": "Container image the job ran in off-host; NULL or Local on the host.",
        "run_as": "The Unix user the job ran as.",
        "skip_reason": "Why a skipped job was skipped (e.g. a duplicate already queued).",
    },
    "environment_variables": {
        "content_guid": "The content item the variable is set on; joins content.guid.",
        "name": "Name of the environment variable (its value is never read or stored).",
        "deleted_time": DELETED_TIME,
    },
    "oauth_associations": {
        "content_guid": "The content item using the integration; joins content.guid.",
        "app_guid": "The content item, as the API names it (same as content_guid).",
        "oauth_integration_guid": "The integration; joins oauth_integrations.guid.",
        "oauth_integration_name": "Descriptive name of the integration.",
        "oauth_integration_description": "Short text describing the integration.",
        "oauth_integration_template": "Template the integration was configured from.",
        "oauth_integration_auth_type": (
            "OAuth flow of the integration: Viewer, Service Account or Visitor API Key."
        ),
        "created_time": "When the content item was associated with the integration (UTC).",
        "deleted_time": DELETED_TIME,
    },
    "oauth_integrations": {
        "id": "Internal numeric identifier of the OAuth integration (stored as text).",
        "guid": (
            "Unique identifier of the integration; joins oauth_sessions.oauth_integration_guid."
        ),
        "created_time": "When the integration was created (UTC).",
        "updated_time": "When the integration was last changed (UTC).",
        "name": "Descriptive name of the integration.",
        "description": "Short text describing the integration.",
        "template": (
            "Template it was configured from: github, snowflake, databricks, azure, connect, "
            "custom, ..."
        ),
        "auth_type": (
            "OAuth flow: Viewer (acts as the visitor), Service Account (client credentials) or "
            "Visitor API Key (Connect API)."
        ),
        "content_count": (
            "Content items using the integration now; sent to administrators only, NULL otherwise."
        ),
        "config__auth_mode": "Template option: Confidential or Public OAuth client.",
        "config__client_id": "OAuth client id registered with the provider.",
        "config__max_role": (
            "Connect API integrations: the highest role the visitor's API key may get "
            "(Administrator, Publisher, Viewer)."
        ),
        "config__scopes": "OAuth scopes requested from the provider, space separated.",
        "config__account_url": "Account URL at the provider (Snowflake, Databricks).",
        "config__tenant_id": "Microsoft Entra (Azure) tenant id.",
        "config__token_uri": "Token endpoint of a custom OAuth provider.",
    },
    "oauth_integrations__permissions": {
        "id": "Internal identifier of this permission record.",
        "guid": "Identifier of this permission record.",
        "integration_guid": "The integration; joins oauth_integrations.guid.",
        "user_guid": "The user allowed to use the integration; NULL when a group is listed.",
        "group_guid": "The group allowed to use the integration; NULL when a user is listed.",
        "principal_guid": (
            "The user or group allowed to use the integration (joins users or groups)."
        ),
        "principal_type": "What principal_guid names: user or group.",
    },
    "oauth_integrations__environment_variables": {
        "value": "Name of an environment variable the integration provisions for content.",
    },
    "oauth_sessions": {
        "id": "Internal numeric identifier of the OAuth session (stored as text).",
        "guid": "Unique identifier of the OAuth session.",
        "user_guid": "The user the session belongs to; joins users.guid.",
        "oauth_integration_guid": (
            "The integration the session is with; joins oauth_integrations.guid."
        ),
        "has_refresh_token": "True when the session holds a refresh token (it can renew itself).",
        "created_time": "When the session was created (UTC).",
        "updated_time": "When the session was last updated, e.g. its token refreshed (UTC).",
    },
    "oauth_credentials": {
        "exchanged_at": "When this pipeline exchanged its session token for an API key (UTC).",
        "subject_token_type": "Kind of token given: urn:posit:connect:content-session-token.",
        "requested_token_type": (
            "Kind of credential asked for: urn:posit:connect:api-key (a visitor API key)."
        ),
        "issued_token_type": "Kind of credential Connect issued (RFC 8693 issued_token_type).",
        "token_type": "How the issued credential is presented to the server (RFC 8693 token_type).",
        "expires_in": "Seconds the issued credential was valid for; NULL when Connect did not say.",
        "expires_at": (
            "When the issued credential expires (UTC): exchanged_at plus expires_in; NULL if "
            "unknown."
        ),
    },
    "users": USER,
    "groups": {
        "guid": "Unique identifier of the group; joins group_members.group_guid.",
        "name": "Name of the group.",
        "owner_guid": "The user who owns (manages) the group; joins users.guid; NULL if none.",
        "gid": "POSIX group id used when content runs as the current user; NULL if unset.",
        "member_count": "Number of members in the group.",
    },
    "group_members": {
        **USER,
        "guid": "The member's user guid; joins users.guid.",
        "group_guid": "The group (added by this pipeline from the request); joins groups.guid.",
        "deleted_time": DELETED_TIME,
    },
    "tags": TAG,
    "audit_logs": {
        "id": "Identifier of the audit log entry.",
        "time": "When the action was taken (UTC).",
        "user_id": "Internal numeric id of the user who acted (stored as text).",
        "user_guid": "The user who acted; joins users.guid; NULL when not recorded.",
        "user_description": "A description of who acted, as text.",
        "action": "The audited action, e.g. user_login, add_user, deploy_application.",
        "event_description": "Human-readable description of what was done.",
    },
    "content_visits": {
        "content_guid": "The content visited; joins content.guid.",
        "user_guid": "The visitor; joins users.guid; NULL when the content needs no login.",
        "variant_key": "Key of the rendered variant visited; NULL for static content.",
        "time": "When the visit happened (UTC).",
        "rendering_id": "Identifier of the rendering visited; NULL for static content.",
        "bundle_id": "Identifier of the bundle (deployment) served.",
        "path": "The path requested within the content.",
        "data_version": "Version of Connect's record format for this entry.",
        "user_agent": "The visitor's browser or client (HTTP User-Agent).",
        "row_key": ROW_KEY,
    },
    "shiny_usage": {
        "content_guid": "The Shiny application; joins content.guid.",
        "user_guid": "The visitor; joins users.guid; NULL when the user cannot be determined.",
        "started": "When the visitor opened the application (UTC).",
        "ended": (
            "When the visitor left the application (UTC); NULL if not recorded (e.g. still open)."
        ),
        "data_version": "Version of Connect's record format for this entry.",
        "row_key": ROW_KEY,
    },
    "packages": {
        "language": "Language of the package: r or python.",
        "language_version": "Version of R or Python the bundle was restored with.",
        "name": "Name of the package.",
        "version": "Version of the package the bundle installed.",
        "hash": "Hash of the R package's DESCRIPTION file; NULL for Python packages.",
        "bundle_id": "The bundle (deployment) that depends on the package (stored as text).",
        "content_id": "Internal numeric id of the content item (stored as text).",
        "content_guid": "The content item; joins content.guid.",
        "app_id": "Deprecated alias of content_id (stored as text).",
        "app_guid": "Deprecated alias of content_guid.",
    },
    "runtimes": {
        "runtime": "The runtime: r, python, quarto, tensorflow or nodejs (which request it came from).",
        "version": "Version of the installation.",
        "cluster_name": "Cluster holding the installation; Local when content runs on the server.",
        "image_name": "Image holding the installation; Local when content runs on the server.",
    },
    "environments": {
        "id": "Internal numeric id of the execution environment (stored as text).",
        "guid": "Unique identifier of the execution environment.",
        "created_time": "When the environment was created (UTC).",
        "updated_time": "When the environment was last changed (UTC).",
        "title": "Human-readable title of the environment; NULL if none was set.",
        "description": "Description of the environment; NULL if none was set.",
        "cluster_name": "Cluster the environment belongs to: Kubernetes.",
        "name": "The container image (its registry path and tag).",
        "environment_type": "Kind of environment: Kubernetes.",
        "matching": (
            "Whether Connect may pick the image for content automatically: any, exact (only "
            "when asked for by name) or none."
        ),
        "supervisor": "Script Connect runs content through in the image; NULL if none.",
        "managed_by": "What manages the environment's definition; NULL when Connect does.",
        **{
            f"{runtime}_versions": (
                f"Versions of {label} installed in the image, comma-separated; NULL if none "
                "(made by this pipeline from the environment's installations)."
            )
            for runtime, label in (
                ("python", "Python"),
                ("r", "R"),
                ("quarto", "Quarto"),
                ("tensorflow", "TensorFlow"),
                ("nodejs", "Node.js"),
            )
        },
        "volume_mounts": (
            "Volumes mounted into content's containers (source: NFS export or persistent volume "
            "claim; target path, read-only or not), as JSON; NULL if none."
        ),
    },
    "runtime_caches": {
        "language": "Language of the cache: R or Python (the server's spelling).",
        "version": "Version of R or Python the cache is for.",
        "image_name": "Image the cache belongs to; Local when content runs on the server.",
    },
    "server_info": {
        "scope": (
            "What the row describes: server (GET /__api__/server_settings) or node (one host "
            "of the cluster, GET /v1/system/hosts)."
        ),
        "hostname": "Host name of the server or node.",
        "version": (
            "Posit Connect version the server or node runs; NULL when the administrator hides it."
        ),
        "build": "Build of the server as it reports it; NULL on node rows and when hidden.",
    },
    "content_hits": {
        "id": "Identifier of the hit (an integer on the server, stored as text).",
        "user_guid": "The visitor; joins users.guid; NULL for anonymous visits.",
        "content_guid": "The content item requested; joins content.guid.",
        "timestamp": "When the request arrived (UTC, microseconds); for Shiny, the session start.",
        "path": "The path requested within the content.",
        "user_agent": "The visitor's browser or client (HTTP User-Agent).",
        "sec_fetch_dest": "The browser's Sec-Fetch-Dest header: what the request was for.",
        "sec_fetch_site": "The browser's Sec-Fetch-Site header: where the request came from.",
        "query_parameters": (
            "Names of the query string's parameters, comma-separated (made by this pipeline; "
            "the values are never stored: shared links carry tokens)."
        ),
    },
}

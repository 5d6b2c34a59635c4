"""A Posit Connect server API simulator over real HTTP, for tests, the demo and benchmarks.

It answers the routes the loader and posit-sdk call with the shapes, paging styles, errors and
version differences of the real server (see the project's api notes). State lives in
`ConnectData`; this module is the HTTP face: routing, keys and roles, caching, the control
plane's `mutate`, and what tests check against (`expected_counts`, `secrets`).
"""

from __future__ import annotations

import base64
import json
import random
import string
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from simulators._server import Handler, Request, Response, Simulator

from . import server_wide
from . import timestamps as ts
from .data import ConnectData, Sizes
from .errors import (
    ApiError,
    bad_request,
    forbidden,
    json_error,
    method_not_allowed,
    not_found,
    unauthorized,
)
from .events import EventLog
from .paging import (
    AUDIT_LOG_STYLE,
    INSTRUMENTATION_STYLE,
    KeysetStyle,
    bool_arg,
    keyset_envelope,
    page_number_envelope,
    page_number_slice,
    parse_keyset_query,
    time_arg,
)
from .per_item import ContentDetails

API = "/__api__"
ADMIN = frozenset({"administrator"})
PUBLISHERS = frozenset({"administrator", "publisher"})

# The first server version that has a route; older servers answer it with the router's plain
# `404 page not found`, as for any unknown path. Routes not listed exist on every version the
# simulator claims to be. OAuth arrived in 2024.08.0: posit-sdk guards `Client.oauth` with
# `@requires("2024.08.0")`.
OAUTH_SINCE = "2024.08.0"
# posit-sdk `@requires` and connectapi `error_if_less_than`: packages 2024.11.0, hits 2025.04.0,
# environments 2023.05.0; `include=vanity_url` on content 2024.06.0 (connectapi `get_content`).
PACKAGES_SINCE = "2024.11.0"
HITS_SINCE = "2025.04.0"
ENVIRONMENTS_SINCE = "2023.05.0"
VANITY_INCLUDE_SINCE = "2024.06.0"
JOBS_SINCE = "2022.10.0"
ROUTE_MIN_VERSION: dict[str, str] = {
    f"{API}/v1/oauth/integrations": OAUTH_SINCE,
    f"{API}/v1/oauth/integrations/credentials": OAUTH_SINCE,
    f"{API}/v1/oauth/sessions": OAUTH_SINCE,
    f"{API}/v1/packages": PACKAGES_SINCE,
    f"{API}/v1/instrumentation/content/hits": HITS_SINCE,
    f"{API}/v1/environments": ENVIRONMENTS_SINCE,
    **{
        f"{API}/v1/server_settings/{runtime}": since
        for runtime, since in server_wide.RUNTIME_SINCE.items()
    },
    f"{API}/v1/content/{{guid}}/oauth/integrations/associations": OAUTH_SINCE,
    # before it, jobs were only under the unversioned /applications/{guid}/jobs (connectapi)
    f"{API}/v1/content/{{guid}}/jobs": JOBS_SINCE,
    f"{API}/v1/content/{{guid}}/jobs/{{key}}": JOBS_SINCE,
}
# Methods that write content's environment variables (names and values): the loader must never
# send them, so here they only answer 405 and are counted.
ENVIRONMENT_WRITES = ("PUT", "PATCH", "POST", "DELETE")
# Reachable without an API key: the version probe, and the credential exchange, which content
# running on Connect performs with nothing but its session token.
PUBLIC_PATHS = frozenset({f"{API}/server_settings", f"{API}/v1/oauth/integrations/credentials"})

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_TOKEN_TYPES = frozenset(
    {"urn:posit:connect:content-session-token", "urn:posit:connect:user-session-token"}
)
API_KEY_TOKEN_TYPE = "urn:posit:connect:api-key"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_LIFETIME_S = 3600
CONTENT_INCLUDES = frozenset({"owner", "tags", "vanity_url"})
KEY_ALPHABET = string.ascii_letters + string.digits


def version_tuple(version: str) -> tuple[int, ...]:
    """'2024.08.0' -> (2024, 8, 0); suffixes such as '-dev+12' are ignored."""
    parts = []
    for part in version.split("-")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _random_key(rng: random.Random, prefix: str = "sim", length: int = 32) -> str:
    return prefix + "".join(rng.choice(KEY_ALPHABET) for _ in range(length - len(prefix)))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _session_token(rng: random.Random, content_guid: str) -> str:
    """A JWT-shaped content session token, as Connect gives running content."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64url(json.dumps({"sub": content_guid, "iss": "posit-connect-sim"}).encode())
    return f"{header}.{claims}.{_b64url(rng.randbytes(32))}"


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    handler: Callable[[Request], Response]
    roles: frozenset[str] | None = None  # None: any valid key


class PositConnectSimulator(Simulator):
    """Posit Connect's server API (`/__api__/...`) with deterministic, seeded data."""

    name = "posit_connect"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        content: int = 50,
        users: int = 30,
        groups: int = 5,
        visits: int = 500,
        shiny_sessions: int = 200,
        audit_logs: int = 300,
        oauth_integrations: int = 3,
        oauth_sessions: int = 6,
        usage_days: int = 180,
        hits: int = 400,
        hits_span_days: int = 180,
        environments: int = 0,
        hide_version: bool = False,
        version: str = "2025.09.0",
        latency_ms: float = 0.0,
        seed: int = 0,
        generated_at_us: int | None = None,
        address: str | None = None,
    ):
        """`generated_at_us` (epoch microseconds, default now) is the moment the generated
        history ends: two simulators with the same seed and moment serve the same rows.
        `address` is Connect's `Server.Address` setting, the public URL its content and
        dashboard links are built on, whatever address the API is reached at (default: the
        simulator's own URL). `hide_version`: the server does not tell its version in
        /server_settings (an administrator's choice on real servers)."""
        super().__init__(host, port, latency_ms)
        # Guards the data; the base's `_lock` guards counters, so a slow content
        # serialisation never stalls requests that only need to be counted.
        self._data_lock = threading.RLock()
        self.seed = seed
        self.address = address
        self.version = version
        self.hide_version = hide_version
        sizes = Sizes(
            content, users, groups, visits, shiny_sessions, audit_logs,
            oauth_integrations, oauth_sessions, usage_days, hits, hits_span_days, environments,
        )  # fmt: skip
        self.data_sizes = sizes
        self.generated_at_us = generated_at_us or ts.now_us()
        self.data = ConnectData(sizes, seed, self.generated_at_us, self.url)
        self.details = ContentDetails(self.data, seed)

        key_rng = random.Random(f"{seed}/keys")
        self.api_key = _random_key(key_rng)
        self.publisher_key = _random_key(key_rng)
        self.viewer_key = _random_key(key_rng)
        first_content = self.data.content[0]["guid"] if self.data.content else ""
        self.content_session_token = _session_token(key_rng, first_content)
        # Tokens handed out by the credential exchange: a new one each call, yet reproducible.
        self._token_rng = random.Random(f"{seed}/issued-tokens")
        self.issued_tokens: list[str] = []
        # API key -> index of its user (0 admin, 1 publisher, 2 viewer: see ConnectData).
        self._key_owner: dict[str, int] = {
            self.api_key: 0,
            self.publisher_key: 1,
            self.viewer_key: 2,
        }
        # Serialised `GET /v1/content` per `include` set: it can be tens of MB.
        self._content_json: dict[tuple[str, ...], bytes] = {}
        self._register_routes()

    # -- routing ----------------------------------------------------------------------
    def _endpoints(self) -> list[Endpoint]:
        v1 = f"{API}/v1"
        return [
            Endpoint("GET", f"{API}/server_settings", self._server_settings),
            Endpoint("GET", f"{v1}/user", self._current_user),
            Endpoint("GET", f"{v1}/content", self._content_list),
            Endpoint("GET", f"{v1}/content/{{guid}}", self._content_item),
            Endpoint("GET", f"{v1}/content/{{guid}}/permissions", self._content_permissions),
            Endpoint("GET", f"{v1}/content/{{guid}}/bundles", self._bundles),
            Endpoint("GET", f"{v1}/content/{{guid}}/jobs", self._jobs),
            Endpoint("GET", f"{v1}/content/{{guid}}/jobs/{{key}}", self._job),
            Endpoint("GET", f"{v1}/content/{{guid}}/environment", self._environment),
            *(
                Endpoint(method, f"{v1}/content/{{guid}}/environment", self._refuse_write)
                for method in ENVIRONMENT_WRITES
            ),
            Endpoint(
                "GET", f"{v1}/content/{{guid}}/oauth/integrations/associations", self._associations
            ),
            Endpoint("GET", f"{v1}/oauth/integrations", self._integrations, PUBLISHERS),
            Endpoint("POST", f"{v1}/oauth/integrations/credentials", self._exchange_credentials),
            Endpoint("GET", f"{v1}/oauth/sessions", self._oauth_sessions),
            Endpoint("GET", f"{v1}/users", self._users),
            Endpoint("GET", f"{v1}/groups", self._groups),
            Endpoint("GET", f"{v1}/groups/{{guid}}/members", self._group_members),
            Endpoint("GET", f"{v1}/tags", self._tags),
            Endpoint("GET", f"{v1}/audit_logs", self._audit_logs, ADMIN),
            Endpoint("GET", f"{v1}/instrumentation/content/visits", self._visits, PUBLISHERS),
            Endpoint("GET", f"{v1}/instrumentation/shiny/usage", self._shiny_usage, PUBLISHERS),
            Endpoint("GET", f"{v1}/packages", self._packages),
            *(
                Endpoint(
                    "GET",
                    f"{v1}/server_settings/{runtime}",
                    self._runtime_settings(runtime),
                    PUBLISHERS,
                )
                for runtime in server_wide.RUNTIME_SINCE
            ),
            Endpoint("GET", f"{v1}/environments", self._environments, PUBLISHERS),
            # GET only: DELETE there empties the caches, which nothing here may ever do.
            Endpoint("GET", f"{v1}/system/caches/runtime", self._runtime_caches, ADMIN),
            Endpoint("GET", f"{v1}/system/hosts", self._hosts, ADMIN),
            Endpoint("GET", f"{v1}/instrumentation/content/hits", self._hits, PUBLISHERS),
        ]

    def _register_routes(self) -> None:
        """(Re)build the route table for the current version.

        Rebinding (not clearing) the list lets requests in flight finish on the old table.
        """
        self.clear_routes()
        for endpoint in self._endpoints():
            if self.has_route(endpoint.template):
                self.route(endpoint.method, endpoint.template, self._guarded(endpoint))

    def has_route(self, template: str) -> bool:
        """Whether a server of this version has `template` (see ROUTE_MIN_VERSION)."""
        since = ROUTE_MIN_VERSION.get(template)
        return since is None or version_tuple(self.version) >= version_tuple(since)

    def _guarded(self, endpoint: Endpoint) -> Handler:
        """The handler behind the role check, turning `ApiError`s into JSON error responses."""

        def serve(request: Request) -> Response:
            try:
                if endpoint.roles is not None and self._role(request) not in endpoint.roles:
                    raise forbidden()
                return endpoint.handler(request)
            except ApiError as error:
                return error.response()

        return serve

    # -- auth and errors ----------------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        if request.path in PUBLIC_PATHS:
            return None
        if self._caller_index(request) is None:
            return unauthorized().response()
        return None

    def _caller_index(self, request: Request) -> int | None:
        scheme, _, key = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "key":
            return None
        return self._key_owner.get(key.strip())

    def _caller(self, request: Request) -> dict:
        index = self._caller_index(request)
        if index is None:
            raise unauthorized()
        return self.data.users[index]

    def _role(self, request: Request) -> str:
        return self._caller(request)["user_role"]

    def error_response(self, status: int, message: str) -> Response:
        return json_error(status, message)

    def _origin(self, request: Request) -> str:
        """Scheme and authority for absolute paging links, as the client addressed us."""
        host = request.header("host")
        return f"{self.scheme}://{host}" if host else self.url

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> PositConnectSimulator:
        super().start()
        with self._data_lock:
            self.data.set_server_url(self.address or self.url)  # the port is known only now
            self._content_json.clear()
        return self

    # -- handlers: server and current user ---------------------------------------------------
    def _server_settings(self, request: Request) -> Response:
        shown = "" if self.hide_version else self.version
        return Response(
            200,
            {
                "version": shown,
                "build": f"v{shown}" if shown else "",
                "about": f"Posit Connect v{shown}" if shown else "Posit Connect",
                "hostname": "connect.example.org",
                "authentication": {
                    "name": "LDAP",
                    "notice": "",
                    "handles_credentials": True,
                    "unique_usernames": True,
                    "name_editable_by_user": False,
                },
                "license": {"tier": "enterprise", "is-expired": False, "users": 1000},
                "runtimes": ["R", "Python", "Quarto"],
                "default_content_list_view": "expanded",
                "viewer_kiosk": False,
            },
        )

    def _current_user(self, request: Request) -> Response:
        return Response(200, self._caller(request))

    # -- handlers: content -----------------------------------------------------------------
    def _includes(self, request: Request) -> tuple[str, ...]:
        requested = {name.strip() for name in (request.arg("include") or "").split(",")} - {""}
        known = set(CONTENT_INCLUDES)
        if version_tuple(self.version) < version_tuple(VANITY_INCLUDE_SINCE):
            known.discard("vanity_url")
        if requested - known:
            # assumed strict: an older server refuses what it does not know
            raise bad_request(f"unknown include value {sorted(requested - known)[0]!r}")
        return tuple(sorted(requested))

    def _content_view(self, item: dict, includes: Sequence[str]) -> dict:
        if not includes:
            return item
        view = dict(item)
        if "owner" in includes:
            owner = self.data.users[self.data.user_index[item["owner_guid"]]]
            view["owner"] = {
                key: owner[key] for key in ("guid", "username", "first_name", "last_name")
            }
        if "tags" in includes:
            view["tags"] = self.data.content_tags[item["guid"]]
        if "vanity_url" in includes:
            view["vanity_url"] = self.data.vanity_urls[item["guid"]]
        return view

    def _content_list(self, request: Request) -> Response:
        includes = self._includes(request)
        owner_guid, name = request.arg("owner_guid"), request.arg("name")
        with self._data_lock:
            if owner_guid is None and name is None:
                return Response(200, self._cached_content_json(includes))
            items = [
                self._content_view(item, includes)
                for item in self.data.live_content()
                if owner_guid in (None, item["owner_guid"]) and name in (None, item["name"])
            ]
        return Response(200, items)

    def _cached_content_json(self, includes: tuple[str, ...]) -> bytes:
        cached = self._content_json.get(includes)
        if cached is None:
            items = [self._content_view(item, includes) for item in self.data.live_content()]
            cached = self._content_json[includes] = json.dumps(
                items, separators=(",", ":")
            ).encode()
        return cached

    def _live_content(self, request: Request) -> dict:
        item = self.data.find_live_content(request.path_params["guid"])
        if item is None:
            raise not_found()
        return item

    def _content_item(self, request: Request) -> Response:
        with self._data_lock:
            return Response(
                200, self._content_view(self._live_content(request), self._includes(request))
            )

    def _content_permissions(self, request: Request) -> Response:
        with self._data_lock:
            return Response(200, self.data.permissions[self._live_content(request)["guid"]])

    # -- handlers: per content item ----------------------------------------------------------
    def _collaborated(self, request: Request) -> dict:
        """The live item, if the caller administers the server or owns or co-owns it (jobs
        and environment: "content owners, collaborators and administrators")."""
        item = self._live_content(request)
        caller = self._caller(request)
        owners = {
            p["principal_guid"] for p in self.data.permissions[item["guid"]] if p["role"] == "owner"
        }
        if caller["user_role"] != "administrator" and caller["guid"] not in {
            item["owner_guid"],
            *owners,
        }:
            raise forbidden()
        return item

    # GET /v1/content/{guid}/bundles: page_number and page_size (default 20), a bare array
    # with no total (Posit's API reference, schema Bundle; posit-sdk
    # src/posit/connect/bundles.py reads one page).
    def _bundles(self, request: Request) -> Response:
        with self._data_lock:
            bundles = self.details.bundles(self._live_content(request)["guid"])
        if bool_arg(request, "asc_order", False):
            bundles.reverse()
        # a bare array with no total: the caller pages until a page comes back empty
        return Response(200, page_number_slice(bundles, request))

    # Shapes: Posit's API reference (GET /v1/content/{guid}/jobs, schema Job) and posit-sdk
    # src/posit/connect/jobs.py with its recorded jobs fixtures.
    def _jobs(self, request: Request) -> Response:
        with self._data_lock:
            guid = self._collaborated(request)["guid"]
            return Response(200, self.details.jobs(guid, version_tuple(self.version)))

    def _job(self, request: Request) -> Response:
        with self._data_lock:
            guid = self._collaborated(request)["guid"]
            jobs = self.details.jobs(guid, version_tuple(self.version))
        return Response(200, _find(jobs, "key", request.path_params["key"]))

    # GET /v1/content/{guid}/environment answers a list of names (Posit's API reference;
    # posit-sdk src/posit/connect/environment_variables.py); values only go in, by PATCH/PUT.
    def _environment(self, request: Request) -> Response:
        with self._data_lock:
            guid = self._collaborated(request)["guid"]
            return Response(200, list(self.details.environment(guid)))  # names only, as Connect

    def _refuse_write(self, request: Request) -> Response:
        raise method_not_allowed()

    # posit-sdk src/posit/connect/oauth/associations.py (content.oauth.associations).
    def _associations(self, request: Request) -> Response:
        with self._data_lock:
            return Response(200, self.details.associations(self._collaborated(request)["guid"]))

    # -- handlers: OAuth ---------------------------------------------------------------------
    def _integrations(self, request: Request) -> Response:
        return Response(200, self.data.integrations)

    def _visible_sessions(self, request: Request, everyone: bool) -> list[dict]:
        caller = self._caller(request)
        if everyone and caller["user_role"] == "administrator":  # others see only their own
            return self.data.oauth_sessions
        return [s for s in self.data.oauth_sessions if s["user_guid"] == caller["guid"]]

    def _oauth_sessions(self, request: Request) -> Response:
        return Response(200, self._visible_sessions(request, bool_arg(request, "all", False)))

    def _exchange_credentials(self, request: Request) -> Response:
        """RFC 8693 token exchange: a content session token for an API key or access token."""
        form = request.form()
        if form.get("grant_type") != GRANT_TYPE:
            raise bad_request(f"grant_type must be {GRANT_TYPE}")
        if form.get("subject_token_type") not in SUBJECT_TOKEN_TYPES:
            raise bad_request("unsupported subject_token_type")
        if form.get("subject_token") != self.content_session_token:
            raise unauthorized("The subject token is not valid.")
        requested = form.get("requested_token_type") or ACCESS_TOKEN_TYPE
        if requested == API_KEY_TOKEN_TYPE:
            token, token_type = self._issue_visitor_key(), "Key"
        elif requested == ACCESS_TOKEN_TYPE:
            token, token_type = self._issue_access_token(form.get("audience")), "Bearer"
        else:
            raise bad_request(f"unsupported requested_token_type {requested!r}")
        return Response(
            200,
            {
                "access_token": token,
                "issued_token_type": requested,
                "token_type": token_type,
                "expires_in": TOKEN_LIFETIME_S,
            },
        )

    def _issue_visitor_key(self) -> str:
        with self._data_lock:
            key = _random_key(self._token_rng)
            # It acts as the content's owner (the publisher), so the content can load data.
            self._key_owner[key] = 1
            self.issued_tokens.append(key)
        return key

    def _issue_access_token(self, audience: str | None) -> str:
        if not self.data.integrations:
            raise bad_request("no OAuth integration is associated with this content")
        if audience is not None:
            _find(self.data.integrations, "guid", audience, error=bad_request("unknown audience"))
        with self._data_lock:
            token = _random_key(self._token_rng, prefix="sim_at_", length=47)
            self.issued_tokens.append(token)
        return token

    # -- handlers: users, groups, tags ---------------------------------------------------------
    def _users(self, request: Request) -> Response:
        prefix = (request.arg("prefix") or "").lower()
        roles = set(filter(None, (request.arg("user_role") or "").split("|")))
        users = [
            user
            for user in self.data.users
            if (not prefix or _has_prefix(user, prefix, ("username", "first_name", "last_name")))
            and (not roles or user["user_role"] in roles)
        ]
        return Response(200, page_number_envelope(users, request))

    def _groups(self, request: Request) -> Response:
        prefix = (request.arg("prefix") or "").lower()
        groups = [g for g in self.data.groups if not prefix or _has_prefix(g, prefix, ("name",))]
        return Response(200, page_number_envelope(groups, request))

    def _group_members(self, request: Request) -> Response:
        members = self.data.group_members.get(request.path_params["guid"])
        if members is None:
            raise not_found()
        return Response(200, page_number_envelope([self.data.users[i] for i in members], request))

    def _tags(self, request: Request) -> Response:
        name, parent_id = request.arg("name"), request.arg("parent_id")
        tags = [
            tag
            for tag in self.data.tags
            if name in (None, tag["name"]) and parent_id in (None, tag["parent_id"])
        ]
        return Response(200, tags)

    # -- handlers: keyset-paged event logs ---------------------------------------------------
    def _audit_logs(self, request: Request) -> Response:
        return self._keyset(request, self.data.audit, self.data.render_audit, AUDIT_LOG_STYLE)

    def _visits(self, request: Request) -> Response:
        return self._keyset(
            request, self.data.visits, self.data.render_visit, INSTRUMENTATION_STYLE
        )

    def _shiny_usage(self, request: Request) -> Response:
        return self._keyset(request, self.data.shiny, self.data.render_shiny, INSTRUMENTATION_STYLE)

    def _keyset(
        self,
        request: Request,
        log: EventLog,
        render: Callable[[int], dict],
        style: KeysetStyle,
    ) -> Response:
        query = parse_keyset_query(request, style, self.data.content_index.get)
        with self._data_lock:  # a consistent page even while `mutate` appends events
            page = log.page(query)
            results = [render(position) for position in page.positions]
        body = keyset_envelope(results, page, query, request, style, self._origin(request))
        return Response(200, body)

    # -- handlers: the server itself -----------------------------------------------------------
    # GET /v1/packages: page_number envelope (Posit's API reference; posit-sdk
    # src/posit/connect/packages.py, @requires 2024.11.0).
    def _packages(self, request: Request) -> Response:
        with self._data_lock:
            rows = [
                row
                for item in self.data.live_content()
                for row in server_wide.packages_of(item, self.seed)
            ]
        rows.sort(key=lambda row: (row["language"], row["name"]))
        return Response(200, page_number_envelope(rows, request))

    def _runtime_settings(self, runtime: str) -> Callable[[Request], Response]:
        def serve(request: Request) -> Response:
            return Response(200, server_wide.runtime_settings(runtime))

        return serve

    # posit-sdk src/posit/connect/environments.py (schema Environment, 2023.05.0).
    def _environments(self, request: Request) -> Response:
        return Response(
            200,
            server_wide.environments(self.data_sizes.environments, self.seed, self.generated_at_us),
        )

    # posit-sdk src/posit/connect/system.py (system.caches.runtime), schema RuntimeCaches.
    def _runtime_caches(self, request: Request) -> Response:
        return Response(200, server_wide.runtime_caches())

    def _hosts(self, request: Request) -> Response:
        return Response(200, server_wide.hosts(self.version, ts.now_us()))

    # posit-sdk src/posit/connect/metrics/hits.py (client.metrics.hits, 2025.04.0): one
    # array per from/to window, no paging; Posit's API reference, schema Hit.
    def _hits(self, request: Request) -> Response:
        """No paging: every hit in the inclusive [from, to] window in one array. An
        administrator sees every item's hits, a publisher those of their own content."""
        start, end = time_arg(request, "from"), time_arg(request, "to")
        caller = self._caller(request)
        with self._data_lock:
            data = self.data
            log = data.hits
            rows = [
                server_wide.render_hit(log, position, data.content, data.users)
                for position in log.between(start, end)
            ]
        if caller["user_role"] != "administrator":
            owned = {item["guid"] for item in data.content if item["owner_guid"] == caller["guid"]}
            rows = [row for row in rows if row["content_guid"] in owned]
        if request.arg("content_guid"):  # several guids joined with `|` (Connect 2026.01.0)
            wanted = set(request.arg("content_guid").split("|"))
            rows = [row for row in rows if row["content_guid"] in wanted]
        return Response(200, rows)

    # -- control plane and test support -----------------------------------------------------------
    def mutate(self, action: str, params: dict[str, Any]) -> Any:
        """Change the server between runs; returns what changed (e.g. the guids)."""
        if action == "set_version":
            return self._set_version(str(params["version"]))
        mutations: dict[str, Callable[[int, int], dict]] = {
            "add_content": self.data.add_content,
            "add_undeployed_content": self.data.add_undeployed_content,
            "finish_jobs": lambda _n, now: self.details.finish_jobs(now),
            "clear_environment": lambda n, _now: self.details.clear_environment(n),
            "update_content": self.data.update_content,
            "delete_content": lambda n, _now: self.data.delete_content(n),
            "add_users": self.data.add_users,
            "add_visits": self.data.add_visits,
            "add_shiny_sessions": self.data.add_shiny_sessions,
            "add_audit_logs": self.data.add_audit_logs,
            "open_shiny_sessions": self.data.open_shiny_sessions,
            "close_shiny_sessions": self.data.close_shiny_sessions,
            "add_hits": self.data.add_hits,
        }
        if action in ("add_visits_at", "add_shiny_sessions_at"):
            times = [ts.parse(str(t)) for t in params.get("times", [])]
            still_open = [ts.parse(str(t)) for t in params.get("open", [])]
            log = "visits" if action == "add_visits_at" else "shiny"
            with self._data_lock:
                return self.data.add_events_at(log, times, still_open)
        if action not in mutations:
            raise ValueError(
                f"unknown action {action!r}; known: {sorted(mutations)}, add_visits_at, "
                "add_shiny_sessions_at and set_version"
            )
        n = int(params.get("n", 1))
        if n < 0:
            raise ValueError("n must not be negative")
        with self._data_lock:
            result = mutations[action](n, ts.now_us())
            if action.endswith("_content"):
                self._content_json.clear()
        return result

    def _set_version(self, version: str) -> dict:
        with self._data_lock:
            previous, self.version = self.version, version
            self._register_routes()
        return {"previous": previous, "version": version}

    @property
    def deleted_content_guids(self) -> list[str]:
        return list(self.data.deleted_guids)

    def expected_counts(self) -> dict[str, int]:
        """Rows a complete load should hold per table (deleted content excluded)."""
        data, details = self.data, self.details
        version = version_tuple(self.version)
        with self._data_lock:
            live = data.live_content()
            guids = [item["guid"] for item in live]
            associations = f"{API}/v1/content/{{guid}}/oauth/integrations/associations"
            return {
                "content": len(live),
                "content_item": len(live),
                "content_permissions": sum(len(data.permissions[item["guid"]]) for item in live),
                "bundles": sum(len(data.deployments[guid]) for guid in guids),
                # jobs of a deleted item stay as last seen (deleted after the first load)
                "content_jobs": sum(
                    len(details.jobs(item["guid"], version)) for item in data.content
                ),
                "environment_variables": sum(len(details.environment(g)) for g in guids),
                "oauth_associations": sum(len(details.associations(g)) for g in guids)
                if self.has_route(associations)
                else 0,
                "oauth_integrations": len(data.integrations),
                "oauth_sessions": len(data.oauth_sessions),
                "users": len(data.users),
                "groups": len(data.groups),
                "group_members": sum(len(members) for members in data.group_members.values()),
                "tags": len(data.tags),
                "audit_logs": len(data.audit),
                "content_visits": len(data.visits),
                "shiny_usage": len(data.shiny),
                "packages": sum(len(server_wide.packages_of(item, self.seed)) for item in live),
                "runtimes": sum(
                    len(server_wide.INSTALLED[runtime])
                    for runtime in server_wide.RUNTIME_SINCE
                    if self.has_route(f"{API}/v1/server_settings/{runtime}")
                ),
                "runtime_caches": len(server_wide.runtime_caches()["caches"]),
                # the server itself, and each node of the cluster
                "server_info": 1 + len(server_wide.HOSTNAMES),
                "content_hits": len(data.hits),
                # a server that runs content locally has none, and dlt makes no empty table
                **(
                    {"environments": self.data_sizes.environments}
                    if self.data_sizes.environments
                    else {}
                ),
            }

    def secrets(self) -> list[str]:
        """Every secret value this server knows: keys, session token, issued tokens."""
        with self._data_lock:
            return [
                self.api_key,
                self.publisher_key,
                self.viewer_key,
                self.content_session_token,
                *self.issued_tokens,
                *self.hit_tokens(),
                *self.environment_values(),
            ]

    def environment_values(self) -> list[str]:
        """The values of every item's environment variables, which the API never returns."""
        with self._data_lock:
            return [
                value
                for item in self.data.content
                for value in self.details.environment(item["guid"]).values()
            ]

    def hit_tokens(self) -> list[str]:
        """The access tokens in the query strings of hits (shared links)."""
        bits = self.data.hits.bits
        return [token for value in bits if (token := server_wide.hit_token(value))]


def _find(items: Sequence[dict], key: str, value: str, error: ApiError | None = None) -> dict:
    for item in items:
        if item[key] == value:
            return item
    raise error or not_found()


def _has_prefix(item: dict, prefix: str, fields: Sequence[str]) -> bool:
    """Connect's `prefix` filter: case-insensitive, on any of the named fields."""
    return any((item[name] or "").lower().startswith(prefix) for name in fields)

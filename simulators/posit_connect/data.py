"""The state of a simulated Connect server: its objects, their events, and how they change.

Everything comes from `random.Random` seeded with the simulator's seed (one stream per
collection, so growing one collection does not reshuffle the others); only the timestamps
depend on the wall clock, because the newest events must sit near "now" for incremental
loads. Objects are kept as the JSON dicts the API returns; what the API does not show
(deployment history, tags of an item, time styles) lives beside them, keyed by guid.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from . import timestamps as ts
from .events import NO_INDEX, EventLog, SessionLog

USER_SPAN_US = 3 * 365 * ts.MICROS_PER_DAY
CONTENT_SPAN_US = 3 * 365 * ts.MICROS_PER_DAY
# Content is created before the usage window opens, so no visit predates its content.
USAGE_SPAN_US = 180 * ts.MICROS_PER_DAY
AUDIT_SPAN_US = 365 * ts.MICROS_PER_DAY
AUDIT_ID_BASE = 23_948_900_000  # audit ids are large integers sent as strings
FIRST_BUNDLE_ID = 9_000

FIRST_NAMES = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
    "Radia", "John", "Katherine", "Donald", "Hedy", "Sophie", "Guido", "Hadley", "Joe", "Mine",
    "Jenny", "Julia", "Wes", "Yihui", "Emily", "Carlos", "Priya", "Wei", "Fatima", "Olu",
    "Ingrid", "Mateo", "Aiko", "Noor", "Zeynep", "Kofi",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Perlman", "McCarthy", "Johnson", "Knuth", "Lamarr", "Wilson", "Rossum",
    "Wickham", "Cheng", "Cetinkaya", "Bryan", "Silge", "McKinney", "Xie", "Riederer", "Garcia",
    "Patel", "Zhang", "Haddad", "Adeyemi", "Larsen", "Rossi", "Tanaka", "Khan", "Demir", "Mensah",
)  # fmt: skip
CONTENT_TOPICS = (
    "quarterly", "daily", "regional", "customer", "sales", "churn", "forecast", "inventory",
    "marketing", "clinical", "fraud", "pricing", "supply", "web", "support", "hr", "energy",
)  # fmt: skip
CONTENT_KINDS = (
    "dashboard", "report", "api", "explorer", "model", "monitor", "tracker", "summary",
    "notebook", "app", "scorecard", "briefing",
)  # fmt: skip
GROUP_NAMES = (
    "data-science", "finance", "marketing", "engineering", "operations", "executives",
    "clinical-research", "support", "analytics-guild", "contractors",
)  # fmt: skip

# (app_mode, runtime, weight): shares roughly as on a mixed R/Python server.
APP_MODES = (
    ("shiny", "r", 12), ("rmd-static", "r", 10), ("rmd-shiny", "r", 3),
    ("quarto-static", "quarto", 8), ("quarto-shiny", "quarto", 2), ("api", "r", 4),
    ("python-api", "python", 4), ("python-fastapi", "python", 5), ("python-dash", "python", 4),
    ("python-streamlit", "python", 5), ("python-shiny", "python", 5),
    ("python-bokeh", "python", 1), ("jupyter-static", "python", 4),
    ("jupyter-voila", "python", 1), ("static", "static", 4),
    ("tensorflow-saved-model", "python", 1), ("unknown", None, 1),
)  # fmt: skip
APP_MODE_WEIGHTS = tuple(weight for *_, weight in APP_MODES)
SHINY_MODES = frozenset({"shiny", "rmd-shiny", "quarto-shiny", "python-shiny"})
RENDERED_MODES = frozenset({"rmd-static", "quarto-static", "jupyter-static"})
API_MODES = frozenset({"api", "python-api", "python-fastapi", "tensorflow-saved-model"})
R_VERSIONS = ("4.2.3", "4.3.3", "4.4.1", "4.5.0")
PY_VERSIONS = ("3.10.14", "3.11.9", "3.12.4", "3.13.1")
QUARTO_VERSIONS = ("1.4.557", "1.5.57", "1.6.40")
API_PATHS = ("/", "/predict", "/docs", "/health", "/v1/score", "/openapi.json")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "python-requests/2.32.3",
    "curl/8.5.0",
    "Datadog/Synthetics",
    None,
)
# (tag name, parent name or None); parents come first so children can point at them.
TAG_TREE = (
    ("Department", None), ("Finance", "Department"), ("Marketing", "Department"),
    ("Data Science", "Department"), ("Operations", "Department"), ("Project", None),
    ("Churn", "Project"), ("Forecasting", "Project"), ("Status", None),
    ("Production", "Status"), ("Draft", "Status"), ("Deprecated", "Status"),
)  # fmt: skip
# (template, auth_type, extra config) of OAuth integrations; no secrets: the API omits them.
INTEGRATION_TEMPLATES = (
    ("connect", "Visitor API Key", {"max_role": "Publisher"}),
    ("github", "Viewer", {"scopes": "repo read:user"}),
    ("snowflake", "Viewer", {"account_url": "https://example.snowflakecomputing.com"}),
    ("databricks", "Service Account", {"account_url": "https://dbc-1234.cloud.databricks.com"}),
    ("azure", "Viewer", {"tenant_id": "8f1c2a9e-0d4b-4c62-9b1e-5f3a7d2c6e10"}),
    ("msgraph", "Viewer", {"scopes": "User.Read Files.Read"}),
    ("bigquery", "Viewer", {"scopes": "https://www.googleapis.com/auth/bigquery"}),
    ("custom", "Service Account", {"token_uri": "https://auth.example.org/oauth/token"}),
)
# (action, what it acts on, description template)
AUDIT_ACTIONS = (
    ("user_login", None, "Logged in"),
    ("add_user", "user", "Added user {target}"),
    ("update_user", "user", "Updated user {target}"),
    ("lock_user", "user", "Locked user {target}"),
    ("add_application", "content", "Added application {target}"),
    ("deploy_application", "content", "Deployed application {target}"),
    ("update_application", "content", "Updated application {target}"),
    ("update_access_type", "content", "Changed access type of {target}"),
    ("add_group_member", "user", "Added {target} to a group"),
    ("add_api_key", None, "Created an API key"),
)


@dataclass(frozen=True)
class Sizes:
    content: int = 50
    users: int = 30
    groups: int = 5
    visits: int = 500
    shiny_sessions: int = 200
    audit_logs: int = 300
    oauth_integrations: int = 3
    oauth_sessions: int = 6
    usage_days: int = USAGE_SPAN_US // ts.MICROS_PER_DAY
    hits: int = 400
    hits_span_days: int = 180
    # execution environments: none unless the server runs content off-host (Kubernetes)
    environments: int = 0


def _bits(value: int, shift: int, width: int) -> int:
    return (value >> shift) & ((1 << width) - 1)


def _session_seconds(bits: int) -> int:
    """A Shiny session's length: mostly minutes, some hours."""
    return 5 + _bits(bits, 8, 12) * (1 + _bits(bits, 20, 2))


LONGEST_SESSION_US = _session_seconds(2**64 - 1) * ts.MICROS_PER_SECOND


def _spread(
    rng: random.Random, n: int, start_us: int, end_us: int, whole_seconds: bool
) -> list[int]:
    """`n` sorted instants in [start_us, end_us]: random gaps, so bursts and lulls occur."""
    if n <= 0:
        return []
    gaps = [rng.random() for _ in range(n)]
    scale = (end_us - start_us) / sum(gaps)
    times = [start_us + int(offset * scale) for offset in accumulate(gaps)]
    times[-1] = min(times[-1], end_us)
    if whole_seconds:
        times = [ts.truncate_to_second(t) for t in times]
    return times


class ConnectData:
    """Users, groups, tags, content, OAuth objects and the three event logs of one server."""

    # One random stream per collection: adding users does not reshuffle the content.
    _STREAMS = (
        "users", "groups", "tags", "content", "oauth", "visits", "shiny", "audit", "hits",
        "mutate",
    )  # fmt: skip

    def __init__(self, sizes: Sizes, seed: int, now_us: int, server_url: str):
        self.server_url = server_url
        self._rng = {name: random.Random(f"{seed}/{name}") for name in self._STREAMS}
        self._next_id = {"content": 1, "permission": 1, "bundle": FIRST_BUNDLE_ID}

        self.users: list[dict] = []
        self.user_index: dict[str, int] = {}
        self.groups: list[dict] = []
        self.group_members: dict[str, list[int]] = {}
        self.tags: list[dict] = []
        # Every item ever created, deleted ones too: event logs point into this list.
        self.content: list[dict] = []
        self.content_index: dict[str, int] = {}
        self.deleted_guids: list[str] = []  # in deletion order
        self._deleted: set[str] = set()
        self.content_tags: dict[str, list[dict]] = {}
        self.vanity_urls: dict[str, str | None] = {}
        self.permissions: dict[str, list[dict]] = {}
        self.deployments: dict[str, list[tuple[int, int]]] = {}  # guid -> [(time, bundle)]
        self._content_style: dict[str, ts.TimeStyle] = {}
        self.integrations: list[dict] = []
        self.oauth_sessions: list[dict] = []
        self.visits = EventLog()
        self.shiny = SessionLog(
            lambda bits: _session_seconds(bits) * ts.MICROS_PER_SECOND, LONGEST_SESSION_US
        )
        self.audit = EventLog()
        self.hits = EventLog()

        self._generate(sizes, now_us)

    # -- generation ----------------------------------------------------------------
    def _generate(self, sizes: Sizes, now_us: int) -> None:
        # Three users at least: the admin, publisher and viewer behind the simulator's keys.
        roles = ["administrator", "publisher", "viewer"]
        for index in range(max(sizes.users, 3)):
            role = roles[index] if index < 3 else None
            self._add_user(now_us - int(self._rng["users"].random() * USER_SPAN_US), now_us, role)
        self._generate_groups(sizes.groups, now_us)
        self._generate_tags(now_us)
        usage_start = now_us - sizes.usage_days * ts.MICROS_PER_DAY
        for _ in range(sizes.content):
            created = usage_start - int(self._rng["content"].random() * CONTENT_SPAN_US)
            deployed = created + int(self._rng["content"].random() * (now_us - created))
            self._add_content(created, deployed)
        self._generate_oauth(sizes, now_us)
        self._append_visits(sizes.visits, usage_start, now_us, self._rng["visits"])
        self._append_shiny(sizes.shiny_sessions, usage_start, now_us, self._rng["shiny"])
        self._append_audit(sizes.audit_logs, now_us - AUDIT_SPAN_US, now_us, self._rng["audit"])
        hits_start = now_us - sizes.hits_span_days * ts.MICROS_PER_DAY
        self._append_hits(sizes.hits, hits_start, now_us, self._rng["hits"])

    def _guid(self, rng: random.Random) -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def _add_user(self, created_us: int, now_us: int, role: str | None = None) -> dict:
        rng = self._rng["users"]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{first[0]}{last}".lower()
        if any(user["username"] == username for user in self.users):
            username = f"{username}{len(self.users)}"
        role = role or rng.choices(["administrator", "publisher", "viewer"], [1, 4, 5])[0]
        style = rng.choice(ts.MIXED_STYLES)
        updated = created_us + int(rng.random() * (now_us - created_us))
        # The key holders (the first three users) must be able to log in.
        key_holder = len(self.users) < 3
        never_logged_in = rng.random() < 0.1 and not key_holder
        user = {
            "email": f"{username}@example.com",
            "username": username,
            "first_name": first,
            "last_name": last,
            "user_role": role,
            "created_time": style.format(created_us),
            "updated_time": style.format(updated),
            "active_time": None if never_logged_in else style.format(updated),
            "confirmed": key_holder or rng.random() < 0.95,
            "locked": not key_holder and rng.random() < 0.05,
            "guid": self._guid(rng),
        }
        self.user_index[user["guid"]] = len(self.users)
        self.users.append(user)
        return user

    def _generate_groups(self, count: int, now_us: int) -> None:
        rng = self._rng["groups"]
        owners = self.owner_indexes()
        for index in range(count):
            name = GROUP_NAMES[index % len(GROUP_NAMES)]
            group = {
                "guid": self._guid(rng),
                "name": name if index < len(GROUP_NAMES) else f"{name}-{index}",
                "owner_guid": self.users[rng.choice(owners)]["guid"],
            }
            if index % 2 == 0:
                # Groups synced from LDAP carry the provider's id; local groups have none.
                group["gid"] = str(5000 + index)
            self.groups.append(group)
            size = min(len(self.users), rng.randint(2, 8))
            self.group_members[group["guid"]] = sorted(rng.sample(range(len(self.users)), size))

    def _generate_tags(self, now_us: int) -> None:
        rng = self._rng["tags"]
        ids_by_name: dict[str, str] = {}
        for number, (name, parent) in enumerate(TAG_TREE, start=1):
            created = now_us - int(rng.random() * CONTENT_SPAN_US)
            ids_by_name[name] = str(number)
            self.tags.append(
                {
                    "id": str(number),
                    "name": name,
                    "parent_id": ids_by_name[parent] if parent else None,
                    "created_time": ts.UTC_SECONDS.format(ts.truncate_to_second(created)),
                    "updated_time": ts.UTC_SECONDS.format(ts.truncate_to_second(created)),
                }
            )

    def _new_bundle_id(self) -> int:
        self._next_id["bundle"] += self._rng["content"].randint(1, 40)
        return self._next_id["bundle"]

    def _add_content(self, created_us: int, deployed_us: int) -> dict:
        rng = self._rng["content"]
        number = self._next_id["content"]
        self._next_id["content"] += 1
        guid = self._guid(rng)
        mode, runtime, _ = rng.choices(APP_MODES, APP_MODE_WEIGHTS)[0]
        owner = self.users[self._content_owner(rng)]
        name = f"{rng.choice(CONTENT_TOPICS)}-{rng.choice(CONTENT_KINDS)}-{number}"
        style = rng.choice(ts.MIXED_STYLES)
        bundle = self._new_bundle_id()
        tuned = rng.random() < 0.2  # most items keep the server's default runtime settings
        item = {
            "guid": guid,
            "name": name,
            "title": None if rng.random() < 0.1 else _title_of(name),
            "description": rng.choice(["", "", f"Owned by {owner['first_name']}'s team."]),
            "access_type": rng.choices(["acl", "logged_in", "all"], [6, 3, 1])[0],
            "locked": rng.random() < 0.02,
            "locked_message": "",
            "connection_timeout": 3600 if tuned else None,
            "read_timeout": 3600 if tuned else None,
            "init_timeout": 60 if tuned else None,
            "idle_timeout": 120 if tuned else None,
            "max_processes": 3 if tuned else None,
            "min_processes": 0 if tuned else None,
            "max_conns_per_process": 20 if tuned else None,
            "load_factor": 0.5 if tuned else None,
            "memory_request": None,
            "memory_limit": 2_147_483_648 if tuned else None,
            "cpu_request": None,
            "cpu_limit": 1.5 if tuned else None,
            "amd_gpu_limit": None,
            "nvidia_gpu_limit": None,
            "service_account_name": None,
            "default_image_name": None,
            "created_time": style.format(created_us),
            "last_deployed_time": style.format(deployed_us),
            # Real servers send bundle ids as strings or as numbers: both occur.
            "bundle_id": str(bundle) if rng.random() < 0.5 else bundle,
            "app_mode": mode,
            "content_category": "site" if mode == "quarto-static" and rng.random() < 0.3 else "",
            "parameterized": mode == "rmd-static" and rng.random() < 0.3,
            "cluster_name": "Local",
            "image_name": None,
            "r_version": rng.choice(R_VERSIONS) if runtime == "r" else None,
            "py_version": rng.choice(PY_VERSIONS) if runtime == "python" else None,
            "quarto_version": rng.choice(QUARTO_VERSIONS) if runtime == "quarto" else None,
            "run_as": None,
            "run_as_current_user": False,
            "owner_guid": owner["guid"],
            "content_url": f"{self.server_url}/content/{guid}/",
            "dashboard_url": f"{self.server_url}/connect/#/apps/{guid}",
            "vanity_url": f"/{name}/" if rng.random() < 0.1 else None,
            "app_role": "owner" if owner is self.users[0] else "none",
            "id": str(number),
        }
        # Connect sends a content item's vanity URL only when asked (`include=vanity_url`).
        self.vanity_urls[guid] = item.pop("vanity_url")
        self.content_index[guid] = len(self.content)
        self.content.append(item)
        self._content_style[guid] = style
        self.deployments[guid] = [(created_us, bundle)]
        children = [tag for tag in self.tags if tag["parent_id"] is not None]
        self.content_tags[guid] = rng.sample(children, min(len(children), rng.randint(0, 3)))
        self.permissions[guid] = [self._permission(guid, rng) for _ in range(rng.randint(0, 3))]
        return item

    def _content_owner(self, rng: random.Random) -> int:
        # The first item belongs to the publisher: its session token is the simulator's.
        return 1 if not self.content else rng.choice(self.owner_indexes())

    def _permission(self, content_guid: str, rng: random.Random) -> dict:
        number = self._next_id["permission"]
        self._next_id["permission"] += 1
        if self.groups and rng.random() < 0.3:
            principal_guid, principal_type = rng.choice(self.groups)["guid"], "group"
        else:
            principal_guid, principal_type = rng.choice(self.users)["guid"], "user"
        return {
            "id": number,  # an int, though the spec says string: real servers send both
            "content_guid": content_guid,
            "principal_guid": principal_guid,
            "principal_type": principal_type,
            "role": rng.choices(["viewer", "owner"], [4, 1])[0],
        }

    def _generate_oauth(self, sizes: Sizes, now_us: int) -> None:
        rng = self._rng["oauth"]
        for number in range(1, sizes.oauth_integrations + 1):
            template, auth_type, extra = INTEGRATION_TEMPLATES[
                (number - 1) % len(INTEGRATION_TEMPLATES)
            ]
            created = now_us - int(rng.random() * USER_SPAN_US)
            permissions = (
                [{"principal_guid": rng.choice(self.groups)["guid"], "principal_type": "group"}]
                if self.groups and rng.random() < 0.5
                else []
            )
            self.integrations.append(
                {
                    "id": str(number),
                    "guid": self._guid(rng),
                    "created_time": ts.UTC_SECONDS.format(ts.truncate_to_second(created)),
                    "updated_time": ts.UTC_MICROS.format(
                        created + int(rng.random() * (now_us - created))
                    ),
                    "name": f"{template.title()} ({number})",
                    "description": f"{template.title()} access for content on this server",
                    "template": template,
                    "auth_type": auth_type,
                    "config": {
                        "auth_mode": "Confidential",
                        "client_id": f"sim-{template}-{number}",
                        **extra,
                    },
                    "permissions": permissions,
                }
            )
        if not self.integrations:
            return
        for number in range(1, sizes.oauth_sessions + 1):
            # The publisher holds the first two sessions, so "only my own" is never empty.
            user = self.users[1] if number <= 2 else rng.choice(self.users)
            created = now_us - int(rng.random() * USAGE_SPAN_US)
            self.oauth_sessions.append(
                {
                    "id": str(number),
                    "guid": self._guid(rng),
                    "user_guid": user["guid"],
                    "oauth_integration_guid": rng.choice(self.integrations)["guid"],
                    "has_refresh_token": rng.random() < 0.7,
                    "created_time": ts.UTC_SECONDS.format(ts.truncate_to_second(created)),
                    "updated_time": ts.UTC_SECONDS.format(ts.truncate_to_second(now_us)),
                }
            )

    # -- event logs ----------------------------------------------------------------------
    def _popular_content(self, rng: random.Random, candidates: Sequence[int], n: int) -> list[int]:
        """`n` content indexes, skewed: a few items get most of the traffic, as on real servers."""
        count = len(candidates)
        return [candidates[int(count * rng.random() ** 3)] for _ in range(n)]

    def _append_visits(
        self, n: int, start_us: int, end_us: int, rng: random.Random, at: list[int] | None = None
    ) -> None:
        self._append_requests(self.visits, n, start_us, end_us, rng, at)

    def _append_hits(self, n: int, start_us: int, end_us: int, rng: random.Random) -> None:
        self._append_requests(self.hits, n, start_us, end_us, rng)

    def _append_requests(
        self,
        log: EventLog,
        n: int,
        start_us: int,
        end_us: int,
        rng: random.Random,
        at: list[int] | None = None,
    ) -> None:
        """Requests to content (visits, hits): popular items, some anonymous."""
        live = self.live_indexes()
        if not live or n <= 0:
            return
        times = at if at is not None else _spread(rng, n, start_us, end_us, whole_seconds=False)
        content = self._popular_content(rng, live, n)
        users = len(self.users)
        # Content open to everyone is often visited without logging in.
        user = [
            NO_INDEX
            if self.content[c]["access_type"] == "all" and rng.random() < 0.6
            else int(users * rng.random())
            for c in content
        ]
        bits = [rng.getrandbits(64) for _ in range(n)]
        log.extend(times, content, user, bits)

    def _append_shiny(
        self, n: int, start_us: int, end_us: int, rng: random.Random, at: list[int] | None = None
    ) -> None:
        live = self.live_indexes()
        shiny = [c for c in live if self.content[c]["app_mode"] in SHINY_MODES] or live
        if not shiny or n <= 0:
            return
        times = at if at is not None else _spread(rng, n, start_us, end_us, whole_seconds=True)
        content = self._popular_content(rng, shiny, n)
        user = [int(len(self.users) * rng.random()) for _ in range(n)]
        bits = [rng.getrandbits(64) for _ in range(n)]
        self.shiny.extend(times, content, user, bits)

    def _append_audit(self, n: int, start_us: int, end_us: int, rng: random.Random) -> None:
        if n <= 0:
            return
        times = _spread(rng, n, start_us, end_us, whole_seconds=True)
        actors = self.owner_indexes()
        live = self.live_indexes()
        user = [rng.choice(actors) for _ in range(n)]
        # Targets are drawn now, among what exists now, so a row never changes later.
        content = [rng.choice(live) if live else NO_INDEX for _ in range(n)]
        bits = [
            rng.randrange(len(AUDIT_ACTIONS)) | rng.randrange(len(self.users)) << 8
            for _ in range(n)
        ]
        self.audit.extend(times, content, user, bits)

    def render_visit(self, position: int) -> dict[str, Any]:
        log = self.visits
        bits, item = log.bits[position], self.content[log.content[position]]
        at = log.times[position]
        mode = item["app_mode"]
        rendered = mode in RENDERED_MODES
        return {
            "content_guid": item["guid"],
            "user_guid": self._user_guid(log.user[position]),
            "variant_key": _variant_key(item["guid"]) if rendered else None,
            "time": ts.MICRO_STYLES[_bits(bits, 0, 8) % len(ts.MICRO_STYLES)].format(at),
            "rendering_id": 40_000 + _bits(bits, 8, 16) if rendered else None,
            "bundle_id": self.bundle_at(item["guid"], at),
            "path": API_PATHS[_bits(bits, 24, 8) % len(API_PATHS)] if mode in API_MODES else "/",
            "data_version": 1,
            "user_agent": USER_AGENTS[_bits(bits, 32, 8) % len(USER_AGENTS)],
        }

    def render_shiny(self, position: int) -> dict[str, Any]:
        log = self.shiny
        bits, started = log.bits[position], log.times[position]
        style = ts.SECOND_STYLES[_bits(bits, 0, 8) % len(ts.SECOND_STYLES)]
        ended = log.ended(position)
        return {
            "content_guid": self.content[log.content[position]]["guid"],
            "user_guid": self._user_guid(log.user[position]),
            "started": style.format(started),
            "ended": None if ended is None else style.format(ended),
            "data_version": 1,
        }

    def render_audit(self, position: int) -> dict[str, Any]:
        log = self.audit
        bits, actor = log.bits[position], self.users[log.user[position]]
        action, target_kind, template = AUDIT_ACTIONS[_bits(bits, 0, 8)]
        if target_kind == "user":
            target = self._describe_user(self.users[_bits(bits, 8, 24)])
        elif target_kind == "content" and log.content[position] != NO_INDEX:
            target = self.content[log.content[position]]["name"]
        else:
            target = ""
        # Audit rows are written whole seconds; an offset appears on a few rows in five.
        style = ts.SECOND_STYLES[(position * 7) % len(ts.SECOND_STYLES)]
        return {
            "id": str(AUDIT_ID_BASE + position),
            "time": style.format(log.times[position]),
            "user_id": str(log.user[position] + 1),
            "user_guid": actor["guid"],
            "user_description": self._describe_user(actor),
            "action": action,
            "event_description": template.format(target=target),
        }

    def _user_guid(self, index: int) -> str | None:
        return None if index == NO_INDEX else self.users[index]["guid"]

    @staticmethod
    def _describe_user(user: dict) -> str:
        return f"{user['first_name']} {user['last_name']} ({user['username']})"

    def bundle_at(self, guid: str, at_us: int) -> int | None:
        """The bundle that was deployed at `at_us` (the first one for earlier instants); None
        for an item never deployed."""
        history = self.deployments[guid]
        if not history:
            return None
        index = bisect.bisect_right(history, at_us, key=lambda deployment: deployment[0])
        return history[max(index - 1, 0)][1]

    # -- queries -------------------------------------------------------------------------
    def owner_indexes(self) -> list[int]:
        """Users who may own content and groups: administrators and publishers."""
        return [i for i, user in enumerate(self.users) if user["user_role"] != "viewer"]

    def live_indexes(self) -> list[int]:
        return [i for i, item in enumerate(self.content) if item["guid"] not in self._deleted]

    def live_content(self) -> list[dict]:
        return [self.content[i] for i in self.live_indexes()]

    def find_live_content(self, guid: str) -> dict | None:
        index = self.content_index.get(guid)
        if index is None or guid in self._deleted:
            return None
        return self.content[index]

    def set_server_url(self, url: str) -> None:
        """Point content and dashboard URLs at the server, once its port is known."""
        self.server_url = url
        for item in self.content:
            item["content_url"] = f"{url}/content/{item['guid']}/"
            item["dashboard_url"] = f"{url}/connect/#/apps/{item['guid']}"

    # -- mutations (each returns what changed) -------------------------------------------
    def add_content(self, n: int, now_us: int) -> dict:
        return {"added": [self._add_content(now_us, now_us)["guid"] for _ in range(n)]}

    def update_content(self, n: int, now_us: int) -> dict:
        rng = self._rng["mutate"]
        live = self.live_content()
        chosen = rng.sample(live, min(n, len(live)))
        for item in chosen:
            bundle = self._new_bundle_id()
            self.deployments[item["guid"]].append((now_us, bundle))
            item["last_deployed_time"] = self._content_style[item["guid"]].format(now_us)
            item["bundle_id"] = str(bundle) if isinstance(item["bundle_id"], str) else bundle
            item["title"] = f"{_title_of(item['name'])} (rev {bundle})"
        return {"updated": [item["guid"] for item in chosen]}

    def delete_content(self, n: int) -> dict:
        rng = self._rng["mutate"]
        live = self.live_content()
        chosen = [item["guid"] for item in rng.sample(live, min(n, len(live)))]
        self.deleted_guids.extend(chosen)
        self._deleted.update(chosen)
        return {"deleted": chosen}

    def add_undeployed_content(self, n: int, now_us: int) -> dict:
        """Items created but never deployed: no bundle, so no bundles and no jobs."""
        added = []
        for _ in range(n):
            item = self._add_content(now_us, now_us)
            item["bundle_id"] = None
            self.deployments[item["guid"]] = []
            added.append(item["guid"])
        return {"added": added}

    def add_users(self, n: int, now_us: int) -> dict:
        return {"added": [self._add_user(now_us, now_us)["guid"] for _ in range(n)]}

    def add_visits(self, n: int, now_us: int) -> dict:
        return self._append_now(self.visits, self._append_visits, n, now_us)

    def add_shiny_sessions(self, n: int, now_us: int) -> dict:
        return self._append_now(self.shiny, self._append_shiny, n, now_us)

    def add_hits(self, n: int, now_us: int) -> dict:
        return self._append_now(self.hits, self._append_hits, n, now_us)

    def add_audit_logs(self, n: int, now_us: int) -> dict:
        return self._append_now(self.audit, self._append_audit, n, now_us)

    def open_shiny_sessions(self, n: int, now_us: int) -> dict:
        """New sessions still open (`ended` null) until `close_shiny_sessions`."""
        before = len(self.shiny)
        added = self.add_shiny_sessions(n, now_us)
        self.shiny.ends.update(dict.fromkeys(range(before, len(self.shiny))))
        return added

    def close_shiny_sessions(self, n: int, now_us: int) -> dict:
        """The `n` oldest open sessions end now."""
        still_open = sorted(p for p, end in self.shiny.ends.items() if end is None)[:n]
        for position in still_open:
            self.shiny.ends[position] = max(now_us, self.shiny.times[position])
        return {"closed": len(still_open)}

    def add_events_at(self, log: str, times_us: list[int], open_us: Sequence[int] = ()) -> dict:
        """Visits or Shiny sessions at the given instants (not before the log's newest); the
        sessions that start at an instant of `open_us` stay open."""
        events, append = {
            "visits": (self.visits, self._append_visits),
            "shiny": (self.shiny, self._append_shiny),
        }[log]
        before = len(events)
        append(len(times_us), 0, 0, self._rng["mutate"], sorted(times_us))
        still_open = set(open_us) if events is self.shiny else set()
        for position in range(before, len(events)):
            if events.times[position] in still_open:
                self.shiny.ends[position] = None
        return {"added": len(events) - before, "total": len(events)}

    def _append_now(
        self,
        log: EventLog,
        append: Callable[[int, int, int, random.Random], None],
        n: int,
        now_us: int,
    ) -> dict:
        """New events fall between the newest existing event and now, keeping time order."""
        before = len(log)
        last = log.last_time
        start = now_us if last is None else max(last, now_us - USAGE_SPAN_US)
        append(n, start, max(start, now_us), self._rng["mutate"])
        return {"added": len(log) - before, "total": len(log)}


def _title_of(name: str) -> str:
    """'churn-dashboard-12' -> 'Churn Dashboard'."""
    return name.rsplit("-", 1)[0].replace("-", " ").title()


@functools.lru_cache(maxsize=65_536)
def _variant_key(content_guid: str) -> str:
    """A stable 8-character variant key per rendered item, like Connect's."""
    digest = hashlib.sha256(content_guid.encode()).hexdigest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 16, 2))

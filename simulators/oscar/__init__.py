"""A faithful simulator of the OSCAR REST API (GRyCAP's serverless platform on Kubernetes).

It serves the real routes under `/system/` with the shapes of OSCAR v3 or v4 (see
`/work/shared/api-notes.md`), HTTP Basic and OIDC bearer auth, and also plays the OIDC issuer's
token endpoint so that refresh-token flows can be exercised.  Everything else, including the
marketing page's `/services` and `/users`, is a plain `404 page not found`, as on a real server.

    with OscarSimulator(services=12, api="v4") as sim:
        requests.get(f"{sim.url}/system/services", auth=(sim.username, sim.password))

Clusters as they are deployed are picked by profile (see PROFILES): `OscarSimulator(
profile="v3.6.3")`, `"v4-kueue"` (v4's defaults, also what `api="v4"` gives), `"v4-plain"`,
`"fresh"`.

Between runs, tests change the cluster with `sim.mutate(action, params)` (or over HTTP,
`POST /__sim__/mutate`) and compare what a loader stored with `expected_jobs()`,
`services_snapshot()` and, for leak scans, `secrets()`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import json
import re
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .._server import Request, Response, Simulator, text
from . import shapes
from .data import (
    VOS,
    day_anchor,
    hex_token,
    job_name,
    make_job,
    make_jobs,
    make_minio_provider,
    make_nodes,
    make_service,
    make_standalone_buckets,
    make_users,
    make_volumes,
    random_text,
    rng_for,
    service_secrets,
)
from .oidc import TokenIssuer

__all__ = ["OscarSimulator"]

DEFAULT_VERSIONS = {"v3": "v3.6.3", "v4": "v4.1.2"}
# Clusters as they are deployed, for tests to pick (`OscarSimulator(profile=...)`):
# - v3.6.3: buckets named `bucket_path`, the v3 `/system/status`, jobs as one bare map;
# - v4-kueue: OSCAR v4's defaults, KUEUE_ENABLE and VOLUME_ENABLE true (pkg/types/config.go),
#   so main.go registers /system/quotas/user and /system/volumes; the quota route answers
#   Basic auth with 401 `missing user identificator: ...` (pkg/handlers/quotas.go);
# - v4-plain: both switched off: those routes are gin's `404 page not found`;
# - fresh: a new v4 cluster, no services nor buckets (`/system/buckets` answers `null`,
#   Go's nil slice, pkg/handlers/buckets/list_bucket.go).
PROFILES: dict[str, dict[str, Any]] = {
    "v3.6.3": {"api": "v3", "version": "v3.6.3"},
    "v4-kueue": {"api": "v4", "kueue": True},
    "v4-plain": {"api": "v4", "kueue": False},
    "fresh": {"api": "v4", "kueue": True, "services": 0, "buckets": False},
}
# What OSCAR's quota handler says when the request carries no user id (Basic auth).
NO_USER_ID = "missing user identificator: missing user identificator"
PAGED_JOBS_SINCE = (3, 6, 4)  # before v3.6.4 `/system/logs/{service}` was one bare map
# `/system/services?include=deployment` asks Kubernetes about every service: ~1.3 s for 12.
DEPLOYMENT_LOOKUP_S = 0.11
MUTATION_TICK = timedelta(minutes=1)
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Basic realm="Authorization Required"'}

Availability = Callable[["OscarSimulator"], bool]


def _always(sim: OscarSimulator) -> bool:
    return True


def _since(*version: int) -> Availability:
    return lambda sim: sim.version_tuple >= version


def _v4_only(sim: OscarSimulator) -> bool:
    return sim.api == "v4"


def _kueue(sim: OscarSimulator) -> bool:
    return sim.api == "v4" and sim.kueue


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def _empty(status: int) -> Response:
    """Gin's `c.Status(code)`: no body and no Content-Type."""
    return Response(status, None)


def _json_error(message: str) -> Response:
    """The metrics handlers are the one place OSCAR answers a 400 with JSON."""
    return Response(400, {"error": message})


@dataclass(frozen=True)
class Caller:
    """Who is asking: `uid` None is the basic-auth administrator, who sees everything."""

    uid: str | None


class OscarSimulator(Simulator):
    name = "oscar"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        services: int = 12,
        jobs_per_service: int = 30,
        api: str = "v4",
        version: str | None = None,
        jobs_page_size: int = 70,
        latency_ms: float = 0.0,
        seed: int = 0,
        kueue: bool = True,
        buckets: bool = True,
        profile: str | None = None,
    ):
        """`profile` (see PROFILES) overrides api, version, kueue, services and buckets."""
        if profile is not None:
            chosen = PROFILES[profile]
            api, version = chosen["api"], chosen.get("version", version)
            kueue, buckets = chosen.get("kueue", kueue), chosen.get("buckets", buckets)
            services = chosen.get("services", services)
        super().__init__(host, port, latency_ms)
        self.seed = seed
        self.jobs_page_size = jobs_page_size
        self.kueue = kueue  # KUEUE_ENABLE and VOLUME_ENABLE (v4 only)
        self._set_api(api, version)
        self.anchor = day_anchor()
        self._clock = self.anchor  # logical time of mutations: deterministic, after all seed jobs
        self._mutation_rng = rng_for(seed, "mutations")
        self._resource_version = 1
        self._page_tokens: dict[str, tuple[str, str]] = {}  # token -> (service, last job name)
        self._retired_secrets: set[str] = set()
        self._create_identities()
        self._create_cluster(services, jobs_per_service, buckets)
        self._register_routes()

    def _create_identities(self) -> None:
        """The deployment's basic-auth account and the OIDC user with their tokens."""
        self.users = make_users(self.seed)
        self.bearer_uid = self.users[0]
        self.username = "oscar"
        self.password = random_text(rng_for(self.seed, "password"), 24)
        self.client_id = "token-portal"  # EGI Check-in's public client, oscar-python's default
        self.token_endpoint_path = "/oidc/token"
        self._issuer = TokenIssuer(self.seed, self.bearer_uid, self.client_id)
        self.refresh_token = self._issuer.refresh_token
        self.bearer_token = self._issuer.issue()

    def _create_cluster(self, services: int, jobs_per_service: int, buckets: bool) -> None:
        self.minio = make_minio_provider(self.seed)
        self.nodes = make_nodes(self.seed)
        self.git_commit = hex_token(rng_for(self.seed, "commit"), 20)
        self._services: dict[str, dict[str, Any]] = {}
        self._jobs: dict[str, dict[str, dict[str, Any]]] = {}
        self._next_service_index = 0
        for _ in range(services):
            self._create_service(jobs_per_service)
        self._standalone_buckets = make_standalone_buckets(self.seed, self.users) if buckets else []
        self._volumes = make_volumes(self.seed, self.users, list(self._services))

    # -- api version ---------------------------------------------------------------------------
    def _set_api(self, api: str, version: str | None) -> None:
        if api not in DEFAULT_VERSIONS:
            raise ValueError(f"api must be one of {sorted(DEFAULT_VERSIONS)}, not {api!r}")
        self.api = api
        self.version = version or DEFAULT_VERSIONS[api]
        self.version_tuple = _version_tuple(self.version)

    @property
    def token_endpoint(self) -> str:
        return f"{self.url}{self.token_endpoint_path}"

    # -- routes --------------------------------------------------------------------------------
    def _register_routes(self) -> None:
        self.route("GET", "/health", lambda request: text(200, "Ok"))
        self.route("POST", self.token_endpoint_path, self._token_endpoint)
        system: list[tuple[str, Callable[..., Response], Availability]] = [
            ("/system/info", self._info, _always),
            ("/system/config", self._config, _always),
            ("/system/status", self._status, _since(3, 2)),
            ("/system/services", self._list_services, _always),
            ("/system/services/{service}", self._per_service(self._read_service), _always),
            (
                "/system/services/{service}/deployment",
                self._per_service(self._deployment),
                _v4_only,
            ),
            ("/system/logs/{service}", self._per_service(self._list_jobs), _always),
            ("/system/logs/{service}/{job}", self._per_service(self._job_log), _always),
            ("/system/buckets", self._buckets, _since(3, 6)),
            ("/system/metrics", self._metrics_summary, _v4_only),
            ("/system/metrics/breakdown", self._metrics_breakdown, _v4_only),
            ("/system/metrics/{service}", self._per_service(self._service_metrics), _v4_only),
            ("/system/volumes", self._list_volumes, _kueue),
            ("/system/quotas/user", self._own_quota, _kueue),
            ("/system/federation/{service}", self._per_service(self._federation), _v4_only),
        ]
        for template, handler, available in system:
            self.route("GET", template, self._guarded(handler, available))

    def _guarded(
        self, handler: Callable[[Request, Caller], Response], available: Availability
    ) -> Callable[[Request], Response]:
        """Wrap a `/system` handler: route missing on this version -> 404, then auth, then lock.

        The version check comes first because on a real server a route that does not exist
        never reaches the auth middleware.
        """

        def guarded(request: Request) -> Response:
            if not available(self):
                return self.not_found(request)
            caller = self._caller(request)
            if caller is None:
                return Response(401, None, dict(UNAUTHORIZED_HEADERS))
            time.sleep(self._lookup_delay(request))
            with self._lock:
                return handler(request, caller)

        return guarded

    def _lookup_delay(self, request: Request) -> float:
        if request.path == "/system/services" and request.arg("include") == "deployment":
            return DEPLOYMENT_LOOKUP_S * len(self._services) if self.api == "v4" else 0.0
        return 0.0

    # -- auth ----------------------------------------------------------------------------------
    def _caller(self, request: Request) -> Caller | None:
        """Basic with the deployment's credentials, or a live OIDC access token.

        A service's own token is not an OIDC token, so it is refused here like any stranger.
        """
        scheme, _, credentials = (request.header("authorization") or "").partition(" ")
        if scheme == "Basic" and self._basic_matches(credentials.strip()):
            return Caller(uid=None)
        if scheme == "Bearer":
            uid = self._issuer.user_of(credentials.strip())
            if uid is not None:
                return Caller(uid)
        return None

    def _basic_matches(self, encoded: str) -> bool:
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.username) and hmac.compare_digest(
            password, self.password
        )

    def _token_endpoint(self, request: Request) -> Response:
        status, body = self._issuer.refresh(request.form())
        return Response(status, body)

    # -- lookups -------------------------------------------------------------------------------
    def _visible_service(self, name: str, caller: Caller) -> dict[str, Any] | Response:
        """The service record, or the response OSCAR sends instead (404 empty / 403 text)."""
        record = self._services.get(name)
        if record is None:
            return _empty(404)
        if not shapes.may_see(record, caller.uid):
            return text(403, f"User {caller.uid} doesn't have permission to get this service")
        return record

    def _per_service(
        self, handler: Callable[[Request, Caller, dict[str, Any]], Response]
    ) -> Callable[[Request, Caller], Response]:
        """Resolve the `{service}` of the path first; the handler gets the visible record."""

        def resolved(request: Request, caller: Caller) -> Response:
            record = self._visible_service(request.path_params["service"], caller)
            return record if isinstance(record, Response) else handler(request, caller, record)

        return resolved

    def _visible_records(self, caller: Caller) -> list[dict[str, Any]]:
        """Records the caller may see, in name order (Kubernetes lists objects by name)."""
        return [
            self._services[name]
            for name in sorted(self._services)
            if shapes.may_see(self._services[name], caller.uid)
        ]

    def _all_buckets(self) -> list[dict[str, Any]]:
        by_service = [shapes.service_buckets(self._services[n]) for n in sorted(self._services)]
        return by_service + self._standalone_buckets

    # -- cluster handlers ----------------------------------------------------------------------
    def _info(self, request: Request, caller: Caller) -> Response:
        return Response(200, shapes.cluster_info(self.version, self.git_commit))

    def _config(self, request: Request, caller: Caller) -> Response:
        gpu = any(node["gpu"] for node in self.nodes)
        return Response(200, shapes.cluster_config(self.minio, list(VOS), gpu))

    def _status(self, request: Request, caller: Caller) -> Response:
        if self.api == "v3":
            body = shapes.cluster_status_v3(
                self.nodes, self._jobs, self._all_buckets(), list(VOS), self.anchor
            )
        else:
            body = shapes.cluster_status(
                self.nodes, self._jobs, len(self._all_buckets()), list(VOS), self.anchor
            )
        return Response(200, body)

    def _buckets(self, request: Request, caller: Caller) -> Response:
        buckets = [
            shapes.render_bucket(b, self.version_tuple)
            for b in self._all_buckets()
            if shapes.may_see(b, caller.uid)
        ]
        return Response(200, buckets if buckets else b"null")  # Go's nil slice

    def _list_volumes(self, request: Request, caller: Caller) -> Response:
        mine = [v for v in self._volumes if caller.uid in (None, v["owner_user"])]
        return Response(200, mine)

    def _own_quota(self, request: Request, caller: Caller) -> Response:
        if caller.uid is None:  # Basic auth carries no user id (auth.GetUIDFromContext)
            return text(401, NO_USER_ID)
        return Response(200, shapes.user_quota(caller.uid, self._services.values(), self._jobs))

    # -- service handlers ----------------------------------------------------------------------
    def _list_services(self, request: Request, caller: Caller) -> Response:
        with_deployment = self.api == "v4" and request.arg("include") == "deployment"
        services = []
        for record in self._visible_records(caller):
            service = shapes.render_service(record, self.api)
            if with_deployment:
                service["deployment"] = shapes.deployment_summary(record, self.anchor)
            services.append(service)
        return Response(200, services)

    def _read_service(self, request: Request, caller: Caller, record: dict[str, Any]) -> Response:
        return Response(200, shapes.render_service(record, self.api))

    def _deployment(self, request: Request, caller: Caller, record: dict[str, Any]) -> Response:
        return Response(200, shapes.deployment_status(record, self.anchor))

    def _federation(self, request: Request, caller: Caller, record: dict[str, Any]) -> Response:
        # Go marshals the nil member list of an unfederated service as null.
        members = copy.deepcopy(record["members"]) or None
        return Response(200, {"topology": record["topology"], "members": members})

    # -- job handlers --------------------------------------------------------------------------
    def _list_jobs(self, request: Request, caller: Caller, record: dict[str, Any]) -> Response:
        jobs = self._jobs[record["name"]]
        if self.version_tuple < PAGED_JOBS_SINCE:
            return Response(200, shapes.render_jobs(jobs, sorted(jobs)))
        return self._jobs_page(record["name"], jobs, request.arg("page") or "")

    def _jobs_page(self, service: str, jobs: dict[str, Any], token: str) -> Response:
        """One page of jobs in name order, continuing after the job the token points at.

        Like a Kubernetes `continue` token the token is opaque and only valid for the list it
        came from: anything this server did not hand out for this service is a 404.
        """
        names = sorted(jobs)
        start = 0
        if token:
            issued = self._page_tokens.get(token)
            if issued is None or issued[0] != service:
                return _empty(404)
            start = bisect_right(names, issued[1])
        page = names[start : start + self.jobs_page_size]
        remaining = len(names) - start - len(page)
        body: dict[str, Any] = {"jobs": shapes.render_jobs(jobs, page)}
        if remaining > 0:
            body["next_page"] = self._page_token(service, page[-1])
        body["remaining_jobs"] = remaining
        return Response(200, body)

    def _page_token(self, service: str, last: str) -> str:
        cursor = {"v": "meta.k8s.io/v1", "rv": self._resource_version, "start": f"{last}\x00"}
        token = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")
        self._page_tokens[token] = (service, last)
        return token

    def _job_log(self, request: Request, caller: Caller, record: dict[str, Any]) -> Response:
        name = request.path_params["job"]
        job = self._jobs[record["name"]].get(name)
        if job is None or job["start_time"] is None:  # a pending pod has no logs yet
            return _empty(404)
        return text(200, shapes.job_log(record["name"], name, job))

    # -- metrics handlers (v4) -----------------------------------------------------------------
    def _metrics_window(self, request: Request) -> tuple[datetime, datetime] | Response:
        raw_start, raw_end = request.arg("start", ""), request.arg("end", "")
        if not raw_start or not raw_end:
            return _json_error("start and end are required")
        bounds = []
        for name, raw in (("start", raw_start), ("end", raw_end)):
            try:
                moment = datetime.fromisoformat(raw.strip())
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:  # Go's RFC3339 wants an offset
                return _json_error(f"invalid {name} timestamp")
            bounds.append(moment)
        if bounds[1] < bounds[0]:
            return _json_error("end must be after start")
        return bounds[0], bounds[1]

    def _usage(self, window: tuple[datetime, datetime]) -> list[shapes.Usage]:
        return shapes.usage_in_window(self._services.values(), self._jobs, *window)

    def _metrics_summary(self, request: Request, caller: Caller) -> Response:
        window = self._metrics_window(request)
        if isinstance(window, Response):
            return window
        body = shapes.metrics_summary(self._usage(window), len(self._services), *window)
        return Response(200, body)

    def _metrics_breakdown(self, request: Request, caller: Caller) -> Response:
        window = self._metrics_window(request)
        if isinstance(window, Response):
            return window
        group_by = (request.arg("group_by") or "").strip()
        if not group_by:
            return _json_error("group_by is required")
        if group_by not in shapes.BREAKDOWN_GROUPS:
            return _json_error(f"unsupported group_by {group_by!r}")
        vo_of_user = {r["owner"]: r["vo"] for r in self._services.values()}
        body = shapes.metrics_breakdown(self._usage(window), group_by, *window, vo_of_user)
        return Response(200, body)

    def _service_metrics(
        self, request: Request, caller: Caller, record: dict[str, Any]
    ) -> Response:
        window = self._metrics_window(request)
        if isinstance(window, Response):
            return window
        body = shapes.service_metrics(self._usage(window), record["name"], *window)
        return Response(200, body)

    # -- mutations -----------------------------------------------------------------------------
    def mutate(self, action: str, params: dict[str, Any]) -> Any:
        """Change the cluster between loads; returns a small dict of what changed.

        Actions are the `_mutate_<action>` methods: add_service, remove_service,
        update_service, add_jobs, change_job_status, expire_jobs, expire_bearer_tokens, set_api.
        """
        method = getattr(self, f"_mutate_{action}", None)
        if method is None:
            raise ValueError(f"unknown action {action!r}; expected one of {self.mutations()}")
        with self._lock:
            self._resource_version += 1
            return method(**params)

    @classmethod
    def mutations(cls) -> list[str]:
        return sorted(
            name.removeprefix("_mutate_") for name in dir(cls) if name.startswith("_mutate_")
        )

    def _tick(self) -> datetime:
        self._clock += MUTATION_TICK
        return self._clock

    def _create_service(self, job_count: int) -> str:
        record = make_service(self.seed, self._next_service_index, self.users, self.minio)
        self._next_service_index += 1
        self._services[record["name"]] = record
        self._jobs[record["name"]] = make_jobs(self.seed, record["name"], job_count, self.anchor)
        return record["name"]

    def _scope(self, name: str | None) -> list[str]:
        """`name` alone (which must exist), else every service in creation order."""
        if name is None:
            return list(self._services)
        if name not in self._services:
            raise ValueError(f"unknown service {name!r}")
        return [name]

    def _mutate_add_service(self, n: int = 1, jobs: int = 0) -> dict[str, Any]:
        return {"added": [self._create_service(jobs) for _ in range(n)]}

    def _mutate_remove_service(self, n: int = 1, name: str | None = None) -> dict[str, Any]:
        """Remove `name`, else the `n` most recently created services, with their jobs."""
        names = self._scope(name)
        if name is None:
            names = names[max(len(names) - n, 0) :]
        for removed in names:
            record = self._services.pop(removed)
            self._retired_secrets |= service_secrets(record)  # handed out before: still scanned
            del self._jobs[removed]
        return {"removed": names}

    def _mutate_update_service(self, n: int = 1, name: str | None = None) -> dict[str, Any]:
        """Redeploy with a new image tag, the next memory size and a `revision` label."""
        names = self._scope(name)[:n]
        for updated in names:
            record = self._services[updated]
            repository = record["image"].rsplit(":", 1)[0]
            record["image"] = f"{repository}:r{self._resource_version}"
            record["memory"] = "1Gi" if record["memory"] != "1Gi" else "2Gi"
            record["labels"] = {**record["labels"], "revision": str(self._resource_version)}
        return {"updated": names}

    def _mutate_add_jobs(self, n: int = 1, service: str | None = None) -> dict[str, Any]:
        """`n` new Pending jobs on `service`, else spread round-robin over all services."""
        targets = self._scope(service)
        added: list[list[str]] = []
        for index in range(n if targets else 0):  # no services, nowhere to add jobs
            target = targets[index % len(targets)]
            jobs = self._jobs[target]
            name = job_name(self._mutation_rng, target, jobs)
            jobs[name] = make_job(self._mutation_rng, self._tick(), "Pending")
            added.append([target, name])
        return {"added": added}

    def _mutate_change_job_status(self, n: int = 1, service: str | None = None) -> dict[str, Any]:
        """Move the `n` oldest unfinished jobs one step: Pending -> Running -> Succeeded."""
        targets = self._scope(service)
        unfinished = sorted(
            (job["creation_time"], target, name)
            for target in targets
            for name, job in self._jobs[target].items()
            if job["finish_time"] is None
        )
        changed = []
        for _, target, name in unfinished[:n]:
            job = self._jobs[target][name]
            before = job["status"]
            if before == "Pending":
                job.update(status="Running", start_time=self._tick())
            else:
                job.update(status="Succeeded", finish_time=self._tick())
            changed.append([target, name, before, job["status"]])
        return {"changed": changed}

    def _mutate_expire_jobs(self, n: int = 1, service: str | None = None) -> dict[str, Any]:
        """Delete the `n` oldest jobs, as OSCAR's job TTL does."""
        targets = self._scope(service)
        oldest = sorted(
            (job["creation_time"], target, name)
            for target in targets
            for name, job in self._jobs[target].items()
        )[:n]
        for _, target, name in oldest:
            del self._jobs[target][name]
        return {"expired": [[target, name] for _, target, name in oldest]}

    def _mutate_expire_bearer_tokens(self) -> dict[str, Any]:
        return {"expired": self._issuer.expire_all()}

    def _mutate_set_api(self, api: str, version: str | None = None) -> dict[str, Any]:
        self._set_api(api, version)
        return {"api": self.api, "version": self.version}

    # -- expectations for tests ----------------------------------------------------------------
    def secrets(self) -> list[str]:
        """Every secret value this server has handed out, for leak scans of loaded data."""
        with self._lock:
            values = {self.password, self.refresh_token, *self._issuer.issued_tokens()}
            values |= {self.minio["access_key"], self.minio["secret_key"]}
            for record in self._services.values():
                values |= service_secrets(record)
            values |= self._retired_secrets
        return sorted(values)

    def expected_jobs(self) -> set[tuple[str, str]]:
        """(service, job name) of every job currently on the server."""
        with self._lock:
            return {(service, name) for service, jobs in self._jobs.items() for name in jobs}

    def jobs_snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        """{service: {job name: the job as the job list sends it}} for every job on the server."""
        with self._lock:
            return {service: shapes.render_jobs(jobs, jobs) for service, jobs in self._jobs.items()}

    def expected_buckets(self) -> set[str]:
        """Names of the buckets basic auth lists, whatever field the version sends them in."""
        with self._lock:
            return {bucket["bucket_name"] for bucket in self._all_buckets()}

    def services_snapshot(self) -> list[dict[str, Any]]:
        """The current service definitions exactly as basic auth would list them."""
        with self._lock:
            return [shapes.render_service(r, self.api) for r in self._visible_records(Caller(None))]

    def bearer_visible_services(self) -> set[str]:
        """Names of the services `/system/services` lists for the bearer-token user."""
        with self._lock:
            return {r["name"] for r in self._visible_records(Caller(self.bearer_uid))}

"""The APIs this project loads. The orchestration layer builds one asset group per entry."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import dlt
from dlt.extract.source import DltSource

from assets import oscar, posit_connect
from assets._catalog import Endpoint
from assets._http import DEFAULT_SERVER
from assets.errors import ConfigurationError
from assets.oscar import columns as oscar_columns
from assets.oscar import settings as oscar_settings
from assets.posit_connect import columns as posit_columns
from assets.posit_connect import settings as posit_settings


@dataclass(frozen=True)
class ChangeProbe:
    """One cheap request that tells whether an API's primary list changed.

    `versions()` returns {row key: version} for every row of `table` (Posit: content guid ->
    last_deployed_time; OSCAR: service name -> digest of its definition), reading its
    settings the way the source does (a named server's come as keyword arguments); it raises
    a SourceError (or a requests error) naming the server when it cannot answer."""

    table: str
    versions: Callable[..., dict[str, str]]


@dataclass(frozen=True)
class SourceInfo:
    name: str
    title: str
    source: Callable[..., DltSource]
    endpoints: tuple[Endpoint, ...]
    pipeline_name: str
    dataset_name: str
    duckdb_file: str
    # the config section of the source's settings: [sources.<section>], SOURCES__<SECTION>__...
    section: str
    # None: nothing tells cheaply what changed, so only the schedules refresh this API.
    change_probe: ChangeProbe | None = None
    # the source's credential arguments, blanked when it is built outside a run
    credential_args: tuple[str, ...] = ()
    # Which of the API's servers (docs/configuration.md, Several servers): `default` is the one configured
    # in the API's own section, a named one has its own section, dataset and asset keys.
    server: str = DEFAULT_SERVER
    # table -> column -> what the column holds, for the Dagster UI's column schemas
    column_descriptions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def catalog(self) -> dict[str, Endpoint]:
        return {endpoint.table: endpoint for endpoint in self.endpoints}

    @property
    def named(self) -> bool:
        return self.server != DEFAULT_SERVER

    @property
    def key_prefix(self) -> tuple[str, ...]:
        """The asset key before the table: `posit_connect`, or `posit_connect/<server>`."""
        return (self.name, self.server) if self.named else (self.name,)

    @property
    def label(self) -> str:
        return "/".join(self.key_prefix)

    @property
    def slug(self) -> str:
        """The prefix of this server's Dagster names (jobs, schedules, sensors, groups)."""
        return "_".join(self.key_prefix)

    @property
    def server_title(self) -> str:
        return f"{self.title} server '{self.server}'" if self.named else self.title

    def offline_source(self) -> DltSource:
        """The source built without reading any setting or credential (for asset specs)."""
        return self.source(base_url="", **dict.fromkeys(self.credential_args, ""))

    def for_server(self, server: str) -> SourceInfo:
        """The API's server `server`: its tables in the dataset `<api>_<server>_data` of the
        same database (the same DuckDB file), loaded by a pipeline of its own."""
        api = API_BY_NAME[self.name]
        if server == DEFAULT_SERVER:
            return api
        return replace(
            api,
            server=server,
            pipeline_name=f"{self.name}_{server}_pipeline",
            dataset_name=f"{self.name}_{server}_data",
        )

    def configured_servers(self) -> tuple[SourceInfo, ...]:
        """Every server of `servers` in the API's section, else the one `default` server."""
        setting = f"sources.{self.section}.servers"
        names = parse_servers(dlt.config.get(setting), f"{setting} ({env_name(setting)})")
        return tuple(self.for_server(name) for name in names) if names else (self,)

    def setting_name(self, key: str) -> str:
        """Where users set `key` for this server, in .dlt/ and as an environment variable."""
        section = f"sources.{self.section}" + (f".{self.server}" if self.named else "")
        return f"{key} under [{section}] ({env_name(f'{section}.{key}')})"

    def in_own_terms(self, message: str) -> str:
        """An error of the source, which names the API's settings, naming this server and its
        own settings instead (SOURCES__<API>__<SERVER>__..., [sources.<api>.<server>])."""
        if not self.named:
            return message
        api_level = f"sources.{self.section}"
        own = f"{api_level}.{self.server}"
        message = message.replace(env_name(api_level) + "__", env_name(own) + "__")
        message = message.replace(f"[{api_level}]", f"[{own}]")
        return (
            message if message.startswith(self.server_title) else f"{self.server_title}: {message}"
        )

    def own_settings(self) -> dict[str, Any]:
        """A named server's URL and credentials, read from its own section alone: the API's
        (another server's) key is never sent to it. Settings without a secret (timeouts,
        concurrency, start_date, CA bundle) fall back to the API's section."""
        if not self.named:
            return {}
        section = f"sources.{self.section}.{self.server}"
        base_url = dlt.config.get(f"{section}.base_url")
        if not base_url:
            raise ConfigurationError(
                f"{self.server_title} is listed in servers but has no address: set "
                f"{self.setting_name('base_url')}."
            )
        credentials = {
            arg: dlt.config.get(f"{section}.{arg}") or "" for arg in self.credential_args
        }
        return {"base_url": base_url, **credentials}

    def make_source(self, **kwargs: Any) -> DltSource:
        """The source of this server, its settings read at run time."""
        if not self.named:
            return self.source(**kwargs)
        # dlt reads a source named <server> from [sources.<section>.<server>], then the API's
        source = self.source.with_args(name=self.server)  # type: ignore[attr-defined]
        return source(server_name=self.server, **self.own_settings(), **kwargs)

    def probe_versions(self) -> dict[str, str]:
        """The change probe's answer from this server."""
        assert self.change_probe is not None, f"{self.name} has no change probe"
        server = {"server": self.server, **self.own_settings()} if self.named else {}
        return self.change_probe.versions(**server)


SERVER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# `<api>/<name>/...` asset keys another part of the project uses
RESERVED_SERVER_NAMES = ("insights",)


def env_name(setting: str) -> str:
    return setting.replace(".", "__").upper()


def parse_servers(value: Any, setting: str) -> list[str]:
    """`servers` as a list (TOML), a JSON list or a comma-separated string (env var)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else text.split(",")
        except ValueError:
            raise ConfigurationError(f"{setting} is not a JSON list: {text!r}") from None
    names = [str(name).strip() for name in value or () if str(name).strip()]
    wrong = [name for name in names if not SERVER_NAME.match(name)]
    if wrong:
        raise ConfigurationError(
            f"{setting} names {', '.join(map(repr, wrong))}: a server's name goes into dataset, "
            "asset and setting names, so it takes lower-case letters, digits and _, and starts "
            "with a letter."
        )
    reserved = [name for name in names if name in RESERVED_SERVER_NAMES]
    if reserved:
        raise ConfigurationError(
            f"{setting} names {', '.join(map(repr, reserved))}: the asset keys "
            "<api>/insights/... are the insights' (docs/insights.md); choose another name."
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigurationError(f"{setting} names {', '.join(repeated)} more than once.")
    return names


POSIT_CONNECT = SourceInfo(
    name="posit_connect",
    title="Posit Connect",
    source=posit_connect.posit_connect_source,
    endpoints=posit_settings.ENDPOINTS,
    pipeline_name=posit_settings.PIPELINE_NAME,
    dataset_name=posit_settings.DATASET_NAME,
    duckdb_file=posit_settings.DUCKDB_FILE,
    section=posit_settings.SECTION,
    change_probe=ChangeProbe("content", posit_connect.content_versions),
    credential_args=("api_key",),
    column_descriptions=posit_columns.COLUMN_DESCRIPTIONS,
)

OSCAR = SourceInfo(
    name="oscar",
    title="OSCAR",
    source=oscar.oscar_source,
    endpoints=oscar_settings.ENDPOINTS,
    pipeline_name=oscar_settings.PIPELINE_NAME,
    dataset_name=oscar_settings.DATASET_NAME,
    duckdb_file=oscar_settings.DUCKDB_FILE,
    section=oscar_settings.SECTION,
    change_probe=ChangeProbe("services", oscar.service_versions),
    credential_args=("username", "password", "bearer_token", "refresh_token"),
    column_descriptions=oscar_columns.COLUMN_DESCRIPTIONS,
)

SOURCES: tuple[SourceInfo, ...] = (POSIT_CONNECT, OSCAR)
API_BY_NAME = {info.name: info for info in SOURCES}
ENABLED_APIS_ENV = "ENABLED_APIS"


def enabled_sources() -> tuple[SourceInfo, ...]:
    """The APIs named in ENABLED_APIS (comma-separated), else all: a team that runs only one
    of the two products gets no schedules, sensors or failed runs for the other."""
    names = [
        n.strip().lower() for n in os.environ.get(ENABLED_APIS_ENV, "").split(",") if n.strip()
    ]
    known = {info.name: info for info in SOURCES}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigurationError(
            f"{ENABLED_APIS_ENV} names {', '.join(map(repr, unknown))}: not an API of this "
            f"project. Use a comma-separated list of {', '.join(known)}, or unset it for all."
        )
    return tuple(info for info in SOURCES if not names or info.name in names)


def enabled_servers() -> tuple[SourceInfo, ...]:
    """Every configured server of every enabled API."""
    return tuple(server for info in enabled_sources() for server in info.configured_servers())

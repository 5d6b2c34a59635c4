"""What the acceptance tests do the way a user does: materialise through Dagster."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, ExecuteInProcessResult, materialize

from assets.registry import SourceInfo
from assets.translator import table_key
from orchestration.definitions import build_definitions
from simulators.oscar import OscarSimulator
from simulators.posit_connect import PositConnectSimulator
from tests.conftest import OSCAR_SIM_SIZES, POSIT_SIM_SIZES, isolate_environment


def materialize_api(
    info: SourceInfo,
    tables: Sequence[str] | None = None,
    instance: DagsterInstance | None = None,
    config: dict[str, Any] | None = None,
) -> ExecuteInProcessResult:
    """Materialise `tables` (default: all) of one API's server in-process, like the UI's button;
    `config` is the API's run config (assets.dlt_assets.EventBackfill)."""
    defs = build_definitions()
    api_assets = [
        a for a in defs.assets if any(k.path[:-1] == list(info.key_prefix) for k in a.keys)
    ]
    selection = [table_key(info, t) for t in tables] if tables else None
    return materialize(
        api_assets,
        selection=selection,
        resources=defs.resources,
        instance=instance or DagsterInstance.ephemeral(),
        raise_on_error=False,
        run_config={"ops": {f"{info.slug}_tables": {"config": config}}} if config else None,
    )


def materialized_tables(result: ExecuteInProcessResult) -> set[str]:
    return {
        event.asset_key.path[-1]
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None
    }


def files_containing(root: Path, secrets: list[str]) -> list[str]:
    """Files under `root` whose bytes contain any of `secrets` (named by a prefix only).

    Each file is searched once per distinct prefix of SECRET_PREFIX bytes, not once per
    secret: the simulators' secrets share a few prefixes (a 10,000-item Posit server hands out
    11,000 `simsecret-` values), and a search per secret took half a minute per test."""
    by_prefix: dict[bytes, dict[int, set[bytes]]] = defaultdict(lambda: defaultdict(set))
    for secret in secrets:
        encoded = secret.encode()
        by_prefix[encoded[:SECRET_PREFIX]][len(encoded)].add(encoded)
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            leaked = {s for p, lengths in by_prefix.items() for s in _found(data, p, lengths)}
            found += [f"{path}: {s[:6].decode()}..." for s in sorted(leaked)]
    return found


SECRET_PREFIX = 10


def _found(data: bytes, prefix: bytes, by_length: dict[int, set[bytes]]) -> Iterator[bytes]:
    start = data.find(prefix)
    while start != -1:
        for length, secrets in by_length.items():
            if data[start : start + length] in secrets:
                yield data[start : start + length]
        start = data.find(prefix, start + 1)


# -- One load shared by the read-only tests of a module -------------------------------------
# The autouse `isolated_env` fixture is function-scoped, so a module-scoped load sets up its own
# isolated environment, and each test that reads it points the environment back at it.


@dataclass
class SharedLoad:
    """Both APIs loaded once: their simulators, what the load returned, and the environment
    that reads the load."""

    posit: PositConnectSimulator
    oscar: OscarSimulator
    results: Any
    environment: dict[str, str]


READ_BY_A_LOAD = (
    "DUCKDB_DIR",
    "DLT_DATA_DIR",
    "DAGSTER_HOME",
    "SOURCES__POSIT_CONNECT_SOURCE__BASE_URL",
    "SOURCES__POSIT_CONNECT_SOURCE__API_KEY",
    "SOURCES__OSCAR_SOURCE__BASE_URL",
    "SOURCES__OSCAR_SOURCE__USERNAME",
    "SOURCES__OSCAR_SOURCE__PASSWORD",
)


@contextmanager
def shared_load(root: Path, load: Callable[[], Any]) -> Iterator[SharedLoad]:
    """Both APIs' simulators, sized as tests/conftest.py's `posit_sim` and `oscar_sim`, in an
    environment of their own under `root`, after `load()` ran in it (its result kept)."""
    with (
        pytest.MonkeyPatch.context() as env,
        PositConnectSimulator(**POSIT_SIM_SIZES) as posit,
        OscarSimulator(**OSCAR_SIM_SIZES) as oscar,
    ):
        isolate_environment(root, env)
        env.setenv("SOURCES__POSIT_CONNECT_SOURCE__BASE_URL", posit.url)
        env.setenv("SOURCES__POSIT_CONNECT_SOURCE__API_KEY", posit.api_key)
        env.setenv("SOURCES__OSCAR_SOURCE__BASE_URL", oscar.url)
        env.setenv("SOURCES__OSCAR_SOURCE__USERNAME", oscar.username)
        env.setenv("SOURCES__OSCAR_SOURCE__PASSWORD", oscar.password)
        results = load()
        yield SharedLoad(posit, oscar, results, {name: os.environ[name] for name in READ_BY_A_LOAD})


def shared_load_fixtures(load: Callable[[], Any], scope: str = "module") -> tuple[Any, Any]:
    """The two fixtures of a module whose tests read one load: `shared_load_once` runs `load()`
    once for the module on each worker that runs its tests (`shared_load`; xdist's loadgroup,
    which would keep them on one worker, groups nothing with pytest 9.2), and `loaded` points
    each test at it, after the test's
    `isolated_env` whose dirs and settings it replaces. Assign both to module names:
    `shared_load_once, loaded = shared_load_fixtures(...)`; in a package's conftest.py with
    `scope="package"`, the modules of the package share one load."""

    @pytest.fixture(scope=scope, name="shared_load_once")
    def once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedLoad]:
        with shared_load(tmp_path_factory.mktemp("shared_load"), load) as loaded:
            yield loaded

    @pytest.fixture(name="loaded")
    def each(
        isolated_env: Path, shared_load_once: SharedLoad, monkeypatch: pytest.MonkeyPatch
    ) -> SharedLoad:
        for name, value in shared_load_once.environment.items():
            monkeypatch.setenv(name, value)
        return shared_load_once

    return once, each

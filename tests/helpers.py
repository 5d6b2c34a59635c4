"""What the acceptance tests do the way a user does: materialise through Dagster."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, ExecuteInProcessResult, materialize

from assets.registry import SourceInfo
from assets.translator import table_key
from orchestration.definitions import build_definitions


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

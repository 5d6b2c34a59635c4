"""The deployment files this machine cannot run (Docker, Kubernetes) are still checked: they
parse, Dagster accepts the instance the Helm values describe, and they agree with
deploy/dagster.yaml, pyproject.toml and tasks.py (one policy, one set of versions)."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from dagster._core.instance.config import dagster_instance_config
from dagster._core.workspace.config_schema import ensure_workspace_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def helm_instance(values: dict[str, Any]) -> dict[str, Any]:
    """The dagster.yaml the chart renders from these values (its configmap-instance template,
    for the keys these values set)."""
    pg = values["postgresql"]
    storage = {
        "postgres_db": {
            "username": pg["postgresqlUsername"],
            "password": {"env": "DAGSTER_PG_PASSWORD"},
            "hostname": pg["postgresqlHost"],
            "db_name": pg["postgresqlDatabase"],
            "port": pg["service"]["port"],
            "params": pg["postgresqlParams"],
            "scheme": pg["postgresqlScheme"],
        }
    }
    daemon = values["dagsterDaemon"]
    monitoring = daemon["runMonitoring"]
    concurrency = values["concurrency"]
    retention = values["retention"]
    instance = {
        "run_storage": {
            "module": "dagster_postgres.run_storage",
            "class": "PostgresRunStorage",
            "config": storage,
        },
        "event_log_storage": {
            "module": "dagster_postgres.event_log",
            "class": "PostgresEventLogStorage",
            "config": storage,
        },
        "schedule_storage": {
            "module": "dagster_postgres.schedule_storage",
            "class": "PostgresScheduleStorage",
            "config": storage,
        },
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": daemon["runCoordinator"]["type"],
        },
        "run_monitoring": {
            "enabled": monitoring["enabled"],
            "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "cancel_timeout_seconds": monitoring["cancelTimeoutSeconds"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
            "free_slots_after_run_end_seconds": monitoring["freeSlotsAfterRunEndSeconds"],
        },
        "concurrency": {
            "pools": {
                "default_limit": concurrency["pools"]["defaultLimit"],
                "granularity": concurrency["pools"]["granularity"],
            },
            "runs": {"max_concurrent_runs": concurrency["runs"]["maxConcurrentRuns"]},
        },
        "telemetry": values["telemetry"],
        "retention": {
            kind: {"purge_after_days": retention[kind]["purgeAfterDays"]}
            for kind in ("schedule", "sensor")
        },
    }
    assert not daemon["runRetries"]["enabled"], "run_retries would be rendered twice"
    return {**instance, **values["additionalInstanceConfig"]}


def validated(instance_yaml: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml))
    config, _custom_class = dagster_instance_config(str(home))
    return config


def test_the_helm_values_give_a_valid_instance_with_the_production_policy(tmp_path):
    helm = validated(helm_instance(load(DEPLOY / "helm" / "values.yaml")), tmp_path)
    production = load(DEPLOY / "dagster.yaml")

    for key in ("concurrency", "run_retries", "retention", "telemetry"):
        assert helm[key] == production[key], key
    for key, value in production["run_monitoring"].items():
        assert helm["run_monitoring"][key] == value, key
    assert helm["run_storage"]["config"]["postgres_db"]["scheme"] == "postgresql+psycopg2"
    assert production["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"


def test_the_helm_values_run_this_code_location_with_secrets_from_kubernetes():
    values = load(DEPLOY / "helm" / "values.yaml")
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    importlib.import_module(args[args.index("-m") + 1])
    assert deployment["envSecrets"] and deployment["includeConfigInLaunchedRuns"]["enabled"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    env = {item["name"]: item.get("value") for item in deployment["env"]}
    assert not any("KEY" in name or "PASSWORD" in name or "CREDENTIALS" in name for name in env)


def test_the_grpc_workspace_is_valid_and_keeps_the_location_name(monkeypatch):
    monkeypatch.setenv("DAGSTER_CODE_SERVER_HOST", "code-server")
    monkeypatch.setenv("DAGSTER_CODE_SERVER_PORT", "4000")
    workspace = load(DEPLOY / "workspace.grpc.yaml")
    ensure_workspace_config(workspace, str(DEPLOY / "workspace.grpc.yaml"))
    local = load(ROOT / "workspace.yaml")
    names = {entry["python_module"]["location_name"] for entry in local["load_from"]}
    assert {e["grpc_server"]["location_name"] for e in workspace["load_from"]} == names


def test_the_dockerfile_builds_what_the_project_pins():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = dict(
        re.findall(r"^([\w-]+)==([\w.]+)", "\n".join(project["project"]["dependencies"]), re.M)
    )
    tasks = (ROOT / "tasks.py").read_text()

    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert "uv sync --frozen --no-dev" in dockerfile
    uv_version = re.search(r'UV_VERSION = "([\d.]+)"', tasks)[1]
    assert f"ARG UV_VERSION={uv_version}" in dockerfile
    assert f"ARG DAGSTER_K8S_VERSION={pins['dagster-dlt']}" in dockerfile  # 0.29.N with 1.13.N
    assert 'CMD ["dagster", "api", "grpc", "-m", "orchestration.definitions"' in dockerfile
    for source in re.findall(r"^COPY (\S+) ", dockerfile, re.M):
        assert (ROOT / source).exists(), source
    assert "secrets.toml" not in re.sub(r"#.*", "", dockerfile)

"""The deployment files this machine cannot run (Docker, Kubernetes) are still checked: they
parse, the Dagster Helm chart's schema accepts the Helm values, and they agree with
deploy/dagster.yaml, pyproject.toml and tasks.py (one policy, one set of versions)."""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from dagster._core.workspace.config_schema import ensure_workspace_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# The chart's own schema (its source and version in the file's "$comment"). Helm validates
# the values merged over the chart's defaults, which fill every key the schema requires;
# deploy/helm/values.yaml overrides some of them, so here each key it sets must be one the
# chart declares, of the declared type. Helm checks with draft 7, as here.
CHART_SCHEMA = Path(__file__).with_name("dagster_helm_values.schema.json")


def as_checked_here(schema: Any) -> Any:
    """The chart's schema without "required", and without its references to Kubernetes'
    types at kubernetesjsonschema.dev (no test goes online): there the chart's own hints for
    the field (an object, a map of strings) are what is checked."""
    if isinstance(schema, list):
        return [as_checked_here(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: as_checked_here(value)
        for key, value in schema.items()
        if key != "required" and not (key == "$ref" and value.startswith("https://"))
    }


def chart_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(as_checked_here(json.loads(CHART_SCHEMA.read_text())))


def snake_case(value: Any) -> Any:
    """Helm's camelCase keys as dagster.yaml spells them."""
    if not isinstance(value, dict):
        return value
    return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): snake_case(v) for k, v in value.items()}


def test_the_helm_values_are_valid_for_the_chart():
    values = load(DEPLOY / "helm" / "values.yaml")
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in chart_validator().iter_errors(values)
    ]
    assert not errors, errors


def test_the_chart_schema_catches_a_mistake():
    values = load(DEPLOY / "helm" / "values.yaml")
    values["runLauncher"]["config"]["k8sRunLauncher"]["imagePullPolicy"] = "Sometimes"
    values["dagsterDaemon"]["runMonitoring_"] = {}
    errors = {e.message for e in chart_validator().iter_errors(values)}
    assert any("'Sometimes'" in message for message in errors), errors
    assert any("'runMonitoring_' was unexpected" in message for message in errors), errors


def test_the_helm_values_have_the_production_policy():
    values = load(DEPLOY / "helm" / "values.yaml")
    production = load(DEPLOY / "dagster.yaml")

    # `enabled`, the chart's switch for a section, has no dagster.yaml counterpart
    for key in ("concurrency", "retention"):
        assert {**snake_case(values[key]), "enabled": True} == {**production[key], "enabled": True}
    assert values["telemetry"] == production["telemetry"]
    monitoring = snake_case(values["dagsterDaemon"]["runMonitoring"])
    assert production["run_monitoring"].items() <= monitoring.items()
    # run retries come from additionalInstanceConfig; the chart's own would render them twice
    assert not values["dagsterDaemon"]["runRetries"]["enabled"]
    assert values["additionalInstanceConfig"]["run_retries"] == production["run_retries"]
    scheme = production["storage"]["postgres"]["postgres_db"]["scheme"]
    assert values["postgresql"]["postgresqlScheme"] == scheme == "postgresql+psycopg2"


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

"""Who gets in, as deployed (deploy/DEPLOY.md, "Who gets in") and documented (docs/access.md). This machine
runs neither Kubernetes nor systemd, so the files are checked for what keeps the UI closed:
every webserver listens only where the proxy reaches it, every way in asks oauth2-proxy first
with the right group, the read-only webserver is read-only, and no file holds a secret. The
read-only webserver itself is run in tests/e2e/test_access.py."""

from __future__ import annotations

import re
import shlex
import tomllib
from urllib.parse import parse_qs, urlsplit

import yaml

from assets.destinations import REPO_ROOT
from assets.registry import OSCAR, POSIT_CONNECT

DEPLOY = REPO_ROOT / "deploy"
OPERATORS, VIEWERS = "dagster-operators", "dagster-viewers"


def unit(name: str) -> dict[str, list[str]]:
    """A systemd unit's settings, each key with all its values (EnvironmentFile repeats)."""
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def exec_start(name: str) -> list[str]:
    (command,) = unit(name)["ExecStart"]
    return shlex.split(command)


def option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_the_helm_values_keep_both_webservers_inside_the_cluster():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())

    assert values["dagsterWebserver"]["enableReadOnly"] is True
    assert values["dagsterWebserver"]["service"]["type"] == "ClusterIP"
    assert values["ingress"]["enabled"] is False  # one Ingress per webserver, in ingress.yaml


def test_every_ingress_asks_oauth2_proxy_with_its_group_first():
    ingresses = {
        doc["metadata"]["name"]: doc
        for doc in yaml.safe_load_all((DEPLOY / "helm" / "ingress.yaml").read_text())
    }
    proxy = yaml.safe_load((DEPLOY / "helm" / "oauth2-proxy-values.yaml").read_text())
    # the chart's services for release `dagster`: <release>-webserver[-read-only]
    assert set(ingresses) == {"dagster-webserver", "dagster-webserver-read-only"}
    groups = {}
    hosts = set()
    for name, ingress in ingresses.items():
        annotations = ingress["metadata"]["annotations"]
        auth = urlsplit(annotations["nginx.ingress.kubernetes.io/auth-url"])
        assert auth.hostname.split(".")[0] == proxy["fullnameOverride"]
        assert auth.path == "/oauth2/auth"
        assert annotations["nginx.ingress.kubernetes.io/auth-signin"].startswith(
            "https://$host/oauth2/start"
        )
        groups[name] = set(parse_qs(auth.query)["allowed_groups"][0].split(","))
        (rule,) = ingress["spec"]["rules"]
        hosts.add(rule["host"])
        backends = {p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
        assert backends == {name}
    assert groups == {
        "dagster-webserver": {OPERATORS},
        "dagster-webserver-read-only": {VIEWERS, OPERATORS},
    }
    # oauth2-proxy serves its login pages on both hosts, and holds no secret in its values
    assert set(proxy["ingress"]["hosts"]) == hosts
    assert proxy["config"]["existingSecret"]
    assert not {"clientSecret", "cookieSecret"} & set(proxy["config"])
    proxy_config = tomllib.loads(proxy["config"]["configFile"])
    assert set(proxy_config["allowed_groups"]) == {OPERATORS, VIEWERS}
    assert not {"client_secret", "cookie_secret"} & set(proxy_config)


def test_on_one_machine_the_webservers_listen_locally_behind_one_proxy_each():
    full = exec_start("connect-oscar-webserver.service")
    read_only = exec_start("connect-oscar-webserver-read-only.service")
    code_server = exec_start("connect-oscar-code-server.service")
    assert "--read-only" in read_only and "--read-only" not in full
    for command in (full, read_only, code_server):
        assert option(command, "-h") == "127.0.0.1"

    proxies = {
        name: tomllib.loads((DEPLOY / "oauth2-proxy" / f"{name}.cfg").read_text())
        for name in ("operators", "viewers")
    }
    assert proxies["operators"]["upstreams"] == [f"http://127.0.0.1:{option(full, '-p')}/"]
    assert proxies["viewers"]["upstreams"] == [f"http://127.0.0.1:{option(read_only, '-p')}/"]
    assert proxies["operators"]["allowed_groups"] == [OPERATORS]
    assert set(proxies["viewers"]["allowed_groups"]) == {VIEWERS, OPERATORS}
    assert proxies["operators"]["cookie_name"] != proxies["viewers"]["cookie_name"]
    for config in proxies.values():
        assert config["provider"] == "oidc" and config["cookie_secure"] is True
        assert not {"client_secret", "cookie_secret"} & set(config)
        assert urlsplit(f"//{config['http_address']}").hostname == "127.0.0.1"

    # Only the code server reads the API keys and the warehouse DSN.
    for name in (
        "connect-oscar-webserver.service",
        "connect-oscar-webserver-read-only.service",
        "connect-oscar-daemon.service",
    ):
        assert unit(name)["EnvironmentFile"] == ["/etc/connect-oscar/instance.env"]
    assert (
        "/etc/connect-oscar/sources.env"
        in unit("connect-oscar-code-server.service")["EnvironmentFile"]
    )


def test_the_readme_and_deploy_commands_bind_the_webserver_locally():
    commands = []
    docs = sorted((REPO_ROOT / "docs").glob("*.md"))
    for doc in (REPO_ROOT / "README.md", *docs, DEPLOY / "DEPLOY.md"):
        commands += re.findall(r"dagster-webserver[^`\n]*", doc.read_text())
    assert commands
    for command in commands:
        assert "0.0.0.0" not in command, command


def test_docs_access_lists_every_table_with_what_its_catalog_requires():
    """docs/access.md's role tables against the catalogs' `requires`, the text a 403 or a 404
    names: every table has a row, and each row names the roles, token and versions required."""
    sections = re.split(r"^### ", (REPO_ROOT / "docs" / "access.md").read_text(), flags=re.M)
    for info, heading in ((POSIT_CONNECT, "Posit Connect"), (OSCAR, "OSCAR")):
        (section,) = [s for s in sections if s.startswith(heading + "\n")]
        rows = dict(re.findall(r"^\| `(\w+)` \|(.*)$", section, flags=re.M))
        assert set(rows) == set(info.catalog), heading
        for table, endpoint in info.catalog.items():
            named = re.findall(
                r"administrator|publisher|CONNECT_CONTENT_SESSION_TOKEN", endpoint.requires
            )
            versions = re.findall(r"\d+\.\d+(?:\.\d+)?", endpoint.requires)
            assert all(word in rows[table] for word in named + versions), (table, endpoint.requires)

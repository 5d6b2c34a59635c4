"""What Connect serves about each content item beyond the item itself: its bundles, jobs,
environment variable names and OAuth associations, in the shapes of Posit's API reference
(schemas Bundle and Job; posit-sdk's fixtures for jobs and associations).

Everything derives from the item's guid and deployment history (`ConnectData.deployments`)
through a random stream per item, so adding content reshuffles nothing. The one state kept
is what changes later: a job that finishes (`finish_jobs`). Environment variables have values
here, as on a real server, so tests can prove none of them reaches a table: the API, and so
this simulator, returns names only.
"""

from __future__ import annotations

import hashlib
import random
import string
from typing import Any

from . import timestamps as ts
from .data import API_MODES, RENDERED_MODES, SHINY_MODES, ConnectData

# The version that added content_id and content_guid to jobs (connectapi #367).
JOB_CONTENT_FIELDS_SINCE = (2025, 1, 0)
JOB_KEY_ALPHABET = string.ascii_letters + string.digits
HOSTNAMES = ("connect01", "connect02")
ENV_NAMES = (
    "DATABASE_URL", "API_TOKEN", "SNOWFLAKE_PASSWORD", "LOG_LEVEL", "AWS_SECRET_ACCESS_KEY",
    "SMTP_PASSWORD", "FEATURE_FLAGS", "GITHUB_PAT",
)  # fmt: skip
RUN_TAGS = {"python-api": "run_python_api", "python-fastapi": "run_fastapi_app", "api": "run_api"}


class ContentDetails:
    """Per-item routes' data for one simulated server."""

    def __init__(self, data: ConnectData, seed: int):
        self.data = data
        self.seed = seed
        # job key -> when it finished (epoch µs): a job seen active that ended since
        self._finished: dict[str, int] = {}
        # items whose every environment variable was removed
        self._cleared: set[str] = set()

    def _rng(self, kind: str, guid: str, *more: Any) -> random.Random:
        return random.Random("/".join(map(str, (self.seed, kind, guid, *more))))

    # -- bundles -------------------------------------------------------------------------
    def bundles(self, guid: str) -> list[dict[str, Any]]:
        """Every bundle of the item, newest first (the reference: sorted by id descending)."""
        item = self.data.content[self.data.content_index[guid]]
        history = self.data.deployments[guid]
        bundles = [
            self._bundle(item, created_us, bundle_id, active=index == len(history) - 1)
            for index, (created_us, bundle_id) in enumerate(history)
        ]
        return bundles[::-1]

    def _bundle(self, item: dict, created_us: int, bundle_id: int, active: bool) -> dict:
        rng = self._rng("bundle", item["guid"], bundle_id)
        from_git = rng.random() < 0.3
        archive = hashlib.sha256(f"{item['guid']}/{bundle_id}".encode()).hexdigest()
        return {
            "id": str(bundle_id),
            "content_guid": item["guid"],
            "created_by": item["owner_guid"],
            "created_time": _utc_seconds(created_us),
            "environment_guid": None,
            "cluster_name": "Local",
            "image_name": "Local",
            "r_version": item["r_version"],
            "r_environment_management": True if item["r_version"] else None,
            "py_version": item["py_version"],
            "py_environment_management": True if item["py_version"] else None,
            "quarto_version": item["quarto_version"],
            "active": active,
            "size": rng.randint(2_000, 80_000_000),
            "metadata": {
                "source": "git" if from_git else None,
                "source_repo": f"https://git.example.org/{item['name']}.git" if from_git else None,
                "source_branch": "main" if from_git else None,
                "source_commit": archive[:40] if from_git else None,
                "archive_md5": archive[:32],
                "archive_sha1": archive[24:64],
            },
        }

    # -- jobs ----------------------------------------------------------------------------
    def jobs(self, guid: str, version: tuple[int, ...]) -> list[dict[str, Any]]:
        """Each deployment's restore job and then what the content ran: renders for reports,
        a process for apps and APIs (the newest still running until `finish_jobs`)."""
        item = self.data.content[self.data.content_index[guid]]
        history = self.data.deployments[guid]
        jobs = []
        for index, (deployed_us, bundle_id) in enumerate(history):
            rng = self._rng("jobs", guid, bundle_id)
            newest = index == len(history) - 1
            restore = "python_restore" if item["py_version"] else "packrat_restore"
            jobs.append(self._job(item, rng, bundle_id, restore, deployed_us, running=False))
            mode = item["app_mode"]
            if mode in SHINY_MODES or mode in API_MODES or mode.startswith("python-"):
                tag = RUN_TAGS.get(mode, "run_app")
                started = deployed_us + 60 * ts.MICROS_PER_SECOND
                jobs.append(self._job(item, rng, bundle_id, tag, started, running=newest))
            elif mode in RENDERED_MODES:
                tag = "build_jupyter" if mode == "jupyter-static" else "build_report"
                started = deployed_us + 30 * ts.MICROS_PER_SECOND
                jobs.append(self._job(item, rng, bundle_id, tag, started, running=False))
        if version < JOB_CONTENT_FIELDS_SINCE:
            for job in jobs:
                del job["content_id"], job["content_guid"]
        return jobs

    def _job(
        self,
        item: dict,
        rng: random.Random,
        bundle_id: int,
        tag: str,
        started_us: int,
        running: bool,
    ) -> dict[str, Any]:
        # every draw made whatever the job's state, so a job keeps its ids when it finishes
        key = "".join(rng.choice(JOB_KEY_ALPHABET) for _ in range(16))
        duration_us = rng.randint(5, 900) * ts.MICROS_PER_SECOND
        failed = rng.random() < 0.1
        job_id, ppid, pid = (rng.randint(1_000, 99_999_999) for _ in range(3))
        hostname = rng.choice(HOSTNAMES)
        finished_us = self._finished.get(key)
        if running and finished_us is None:
            ended, exit_code, status = None, None, 0
            heartbeat = started_us + 3_600 * ts.MICROS_PER_SECOND
        else:
            ended = heartbeat = finished_us or started_us + duration_us
            exit_code, status = (1 if failed else 0), 2
        return {
            "id": str(job_id),
            "ppid": str(ppid),
            "pid": str(pid),
            "key": key,
            "remote_id": None,
            "app_id": item["id"],
            "content_id": item["id"],
            "content_guid": item["guid"],
            "variant_id": "0",
            "bundle_id": str(bundle_id),
            "start_time": _utc_seconds(started_us),
            "end_time": None if ended is None else _utc_seconds(ended),
            "last_heartbeat_time": _utc_seconds(heartbeat),
            "queued_time": None,
            "queue_name": None,
            "tag": tag,
            "exit_code": exit_code,
            "status": status,
            "hostname": hostname,
            "cluster": None,
            "image": None,
            "run_as": "rstudio-connect",
        }

    def finish_jobs(self, now_us: int) -> dict[str, list[str]]:
        """Every running job of live content ends now (its row changes: end_time, exit_code,
        status)."""
        finished = []
        for item in self.data.live_content():
            for job in self.jobs(item["guid"], JOB_CONTENT_FIELDS_SINCE):
                if job["status"] == 0:
                    self._finished[job["key"]] = now_us
                    finished.append(job["key"])
        return {"finished": finished}

    # -- environment variables ----------------------------------------------------------------
    def environment(self, guid: str) -> dict[str, str]:
        """The item's variables with their values; the route serves only the names."""
        if guid in self._cleared:
            return {}
        rng = self._rng("environment", guid)
        names = rng.sample(ENV_NAMES, rng.choice((0, 0, 1, 2, 3)))
        return {name: f"simsecret-{rng.getrandbits(96):024x}" for name in sorted(names)}

    def clear_environment(self, n: int) -> dict[str, list[str]]:
        """Every variable of `n` live items that have some is removed."""
        having = [i["guid"] for i in self.data.live_content() if self.environment(i["guid"])]
        self._cleared.update(having[:n])
        return {"cleared": having[:n]}

    # -- OAuth associations --------------------------------------------------------------------
    def associations(self, guid: str) -> list[dict[str, Any]]:
        integrations = self.data.integrations
        rng = self._rng("associations", guid)
        if not integrations or rng.random() < 0.7:
            return []
        chosen = rng.sample(integrations, rng.randint(1, min(2, len(integrations))))
        item = self.data.content[self.data.content_index[guid]]
        created_us = ts.parse(item["created_time"]) + rng.randint(1, 86_400) * ts.MICROS_PER_SECOND
        return [
            {
                "app_guid": guid,
                "oauth_integration_guid": integration["guid"],
                "oauth_integration_name": integration["name"],
                "oauth_integration_description": integration["description"],
                "oauth_integration_template": integration["template"],
                "oauth_integration_auth_type": integration["auth_type"],
                "created_time": _utc_seconds(created_us),
            }
            for integration in chosen
        ]


def _utc_seconds(us: int) -> str:
    return ts.UTC_SECONDS.format(ts.truncate_to_second(us))

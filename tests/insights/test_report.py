"""The HTML report (`python3 tasks.py report`) opened in a real headless browser: Debian's
chromium driven by Playwright (never `playwright install`: .ci/run installs chromium)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assets.destinations import REPO_ROOT
from assets.insights.catalog import INSIGHTS
from assets.insights.charts import HEIGHT_PX, WIDTH_PX

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> Path:
    """Skipped where chromium is not installed, except in CI, which must prove the report."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {CHROMIUM} is missing (.ci/run installs it)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install --no-install-recommends chromium")
    return CHROMIUM


def write_the_report() -> Path:
    """The report of the shared load (tests/insights/conftest.py), written as a user does."""
    written = subprocess.run(
        [sys.executable, "-m", "tools.report"],
        cwd=REPO_ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert written.returncode == 0, written.stderr
    return Path(written.stdout.strip().removeprefix("Report: "))


def test_the_report_holds_no_secret_and_renders_every_chart_offline_without_errors(loaded):
    report = write_the_report()
    secrets = [*loaded.posit.secrets(), *loaded.oscar.secrets()]
    assert len(secrets) > 5
    html = report.read_text()
    assert [secret[:6] + "..." for secret in secrets if secret in html] == []

    from playwright.sync_api import sync_playwright

    chromium = chromium_or_skip()
    problems, requests = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "request",
            lambda request: (
                None if request.url.startswith(("file:", "data:")) else requests.append(request.url)
            ),
        )
        page.goto(report.as_uri(), wait_until="load")
        charts = page.eval_on_selector_all(
            "img.chart",
            "images => images.map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])",
        )
        sections = page.eval_on_selector_all("section", "s => s.map(e => e.id)")
        answers = page.eval_on_selector_all(".answers li", "items => items.map(i => i.innerText)")
        browser.close()

    expected = [insight.name for api in ("posit_connect", "oscar") for insight in INSIGHTS[api]]
    assert sections == expected
    assert [alt for alt, *_ in charts] == [f"{name} chart" for name in expected]
    assert all(state == [True, WIDTH_PX, HEIGHT_PX] for _, *state in charts), charts
    assert len(answers) == 3
    assert problems == [] and requests == []

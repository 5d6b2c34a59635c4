"""The split between layers: the dlt sources run without Dagster, and the assets do not
depend on the orchestration that schedules them."""

from __future__ import annotations

import subprocess
import sys

from assets.destinations import REPO_ROOT


def test_the_dlt_sources_import_nothing_of_dagster():
    probe = (
        "import sys; import assets.posit_connect, assets.oscar; "
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('dagster')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"


def test_nothing_in_assets_imports_orchestration():
    importers = [
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "assets").rglob("*.py")
        if any(
            line.startswith(("from orchestration", "import orchestration"))
            for line in path.read_text().splitlines()
        )
    ]
    assert importers == []

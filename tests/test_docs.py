"""The documentation against the code it describes: docs/tables.md is what
`python -m tools.tables_doc` renders from the endpoint catalogs, and every relative link in
the README and docs/ points at a file (and heading) that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assets.destinations import REPO_ROOT
from assets.registry import SOURCES
from tools import tables_doc

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
DOCS += [REPO_ROOT / "deploy" / "DEPLOY.md", REPO_ROOT / "bench" / "README.md"]


def test_tables_doc_is_what_the_catalogs_render():
    assert tables_doc.TABLES_DOC.read_text() == tables_doc.render(), (
        "docs/tables.md differs from the endpoint catalogs: run .venv/bin/python -m tools.tables_doc"
    )


def test_tables_doc_lists_every_table_with_its_description():
    text = tables_doc.render()
    for info in SOURCES:
        for endpoint in info.endpoints:
            assert f"| `{endpoint.table}` | `{info.name}/{endpoint.table}` |" in text
            assert " ".join(endpoint.description.split()) in text


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_relative_links_point_at_existing_files_and_headings(doc: Path):
    text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        assert path.exists(), f"{doc.name}: {target}"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"{doc.name}: {target}"


def test_readme_starts_with_the_two_commands_and_fits_on_a_few_screens():
    readme = (REPO_ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "python3 tasks.py load" in first_block and "python3 tasks.py test" in first_block
    assert len(readme.encode()) < 12 * 1024

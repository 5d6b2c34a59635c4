"""Baseline for the code-location load time: every import of `orchestration/definitions.py`
(read from its source, so the baseline follows that module as it grows), then an empty
`Definitions`. `dagster definitions validate -m bench.empty_definitions`."""

import ast
from pathlib import Path

from dagster import Definitions

_DEFINITIONS = Path(__file__).resolve().parents[1] / "orchestration" / "definitions.py"
_imports = [
    node
    for node in ast.parse(_DEFINITIONS.read_text()).body
    if isinstance(node, ast.Import | ast.ImportFrom)
]
exec(compile(ast.Module(body=_imports, type_ignores=[]), str(_DEFINITIONS), "exec"), {})

defs = Definitions()

"""Where dbt built the statistics mart, read from the project's dbt manifest.

A host project may build our models into a schema of its choosing (``+schema``, a custom
``generate_schema_name``), so the analysis step asks dbt's ``manifest.json`` rather than
assuming the target's schema. The result tables are written next to the mart.
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis_py.marts import MART
from analysis_py.warehouse.bridge import PACKAGE, DbtTarget, target_path


def manifest_path(project_dir: str | Path) -> Path:
    """Dbt's manifest.json of the project (honours target-path and DBT_TARGET_PATH)."""
    return target_path(project_dir) / "manifest.json"


def mart_schema(target: DbtTarget) -> str:
    """The schema of the statistics mart.

    Read from the manifest of the last dbt invocation on this kind of engine, else the
    target's own schema.
    """
    default = target.schema
    try:
        manifest = json.loads(manifest_path(target.project_dir).read_text())
    except (OSError, ValueError):
        return default
    if manifest.get("metadata", {}).get("adapter_type") != target.type:
        return default
    node = manifest.get("nodes", {}).get(f"model.{PACKAGE}.{MART}")
    if not node or not node.get("schema"):
        return default
    return str(node["schema"])

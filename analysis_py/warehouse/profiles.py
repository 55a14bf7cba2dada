"""Find the dbt project, profile and target, so that Python connects where dbt built.

dbt and the analysis step share one connection configuration: the ``profiles.yml`` that dbt
uses, rendered the same way (``env_var()`` with an optional default). The profile's name comes
from ``dbt_project.yml``; the target from ``--target``, else ``DBT_TARGET``, else the
profile's ``target:``. The profiles directory is ``--profiles-dir``, else
``DBT_PROFILES_DIR``, else the project directory if it holds a ``profiles.yml``, else
``~/.dbt`` (dbt's own order).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml


class ProfileError(ValueError):
    """The dbt project or profile cannot be found or read; the message says which."""


@dataclass(frozen=True)
class DbtTarget:
    """The active dbt target: where dbt builds and where results are written."""

    project_dir: Path
    profiles_dir: Path
    profile_name: str
    target_name: str
    settings: dict[str, Any]

    @property
    def type(self) -> str:
        """The adapter type: duckdb, postgres, spark, ..."""
        return str(self.settings.get("type", ""))


#: The pip package of an adapter type, where it is not dbt-<type>.
ADAPTER_PACKAGES = {"spark": "dbt-spark[session]"}


def adapter_package(adapter_type: str) -> str:
    """What to pip install for dbt's adapter of this target type."""
    return ADAPTER_PACKAGES.get(adapter_type, f"dbt-{adapter_type}")


def check_target(target: DbtTarget) -> None:
    """Fail in one line, before anything runs, when dbt cannot load the target's adapter."""
    import importlib.util

    if not target.type:
        raise ProfileError(
            f"dbt target '{target.target_name}' of profile '{target.profile_name}' has no 'type'"
        )
    try:
        found = importlib.util.find_spec(f"dbt.adapters.{target.type}")
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise ProfileError(
            f"dbt target '{target.target_name}' has type '{target.type}', but "
            f"dbt's adapter for it is not installed: pip install "
            f"{adapter_package(target.type)}"
        )


def resolve_profiles_dir(project_dir: Path, profiles_dir: str | Path | None) -> Path:
    """The directory of profiles.yml, in dbt's order (see the module's docstring)."""
    if profiles_dir:
        return Path(profiles_dir)
    if os.environ.get("DBT_PROFILES_DIR"):
        return Path(os.environ["DBT_PROFILES_DIR"])
    if (project_dir / "profiles.yml").exists():
        return project_dir
    return Path.home() / ".dbt"


def load_target(
    project_dir: str | Path = ".", profiles_dir: str | Path | None = None, target: str | None = None
) -> DbtTarget:
    """Read the active target of the dbt project in ``project_dir``."""
    project_dir = Path(project_dir)
    project_file = project_dir / "dbt_project.yml"
    project = _read_yaml(project_file, render=False)
    profile_name = project.get("profile") if isinstance(project, dict) else None
    if not isinstance(profile_name, str):
        raise ProfileError(f"{project_file}: no 'profile' key naming the dbt profile")

    profiles_path = resolve_profiles_dir(project_dir, profiles_dir) / "profiles.yml"
    profiles = _read_yaml(profiles_path, render=True)
    profile = profiles.get(profile_name) if isinstance(profiles, dict) else None
    if not isinstance(profile, dict):
        raise ProfileError(
            f"{profiles_path}: no profile named '{profile_name}' (the 'profile' of {project_file})"
        )
    target_name = target or os.environ.get("DBT_TARGET") or profile.get("target")
    outputs = profile.get("outputs") or {}
    if target_name not in outputs:
        raise ProfileError(
            f"{profiles_path}: profile '{profile_name}' has no target "
            f"'{target_name}' (targets: {', '.join(outputs) or 'none'})"
        )
    return DbtTarget(
        project_dir=project_dir,
        profiles_dir=profiles_path.parent,
        profile_name=profile_name,
        target_name=str(target_name),
        settings=dict(outputs[target_name]),
    )


def _env_var(name: str, default: str | None = None) -> str:
    if name in os.environ:
        return os.environ[name]
    if default is not None:
        return default
    raise ProfileError(f"profiles.yml needs the environment variable {name}, which is not set")


def _read_yaml(path: Path, render: bool) -> Any:
    try:
        text = path.read_text()
    except OSError as error:
        raise ProfileError(f"{path}: cannot read: {error.strerror}") from None
    document = yaml.safe_load(text)
    if render:
        document = _render(document)
    return document


def _as_number(value: str) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def _as_bool(value: str) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes"}


# dbt's native-type filters, so that `"{{ env_var('PORT') | as_number }}"` renders as in dbt.
_ENVIRONMENT = jinja2.Environment(undefined=jinja2.StrictUndefined)
_ENVIRONMENT.filters.update(as_number=str, as_text=str, as_bool=str, as_native=str)


def _render(node: Any) -> Any:
    """Render Jinja in every string of a parsed profiles.yml, as dbt does."""
    if isinstance(node, dict):
        return {key: _render(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_render(value) for value in node]
    if isinstance(node, str) and ("{{" in node or "{%" in node):
        rendered = _ENVIRONMENT.from_string(node).render(env_var=_env_var)
        # Rendering gives text; dbt's as_number / as_bool filters ask for a native value.
        if "as_number" in node:
            return _as_number(rendered)
        if "as_bool" in node:
            return _as_bool(rendered)
        return rendered
    return node

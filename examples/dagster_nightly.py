"""Dagster: run the experiment pipeline nightly inside an existing dbt project.

Two kinds of assets: every dbt model of the project (the host's and ours), built with the
experiment config passed as vars, and ``experiment_results``, the analysis step, downstream
of our statistics mart. A schedule materialises both at 04:00.

    XP_DBT_PROJECT_DIR=/path/to/your/dbt/project dagster dev -f examples/dagster_nightly.py

Needs ``pip install dagster dagster-dbt`` next to this package. Tested in-process by
tests/integration/package/test_dbt_package.py.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets, get_asset_key_for_model

from analysis_py.config import load_config
from analysis_py.run import run_analysis
from analysis_py.warehouse.bridge import load_target
from analysis_py.warehouse.dbt import run_dbt
from analysis_py.warehouse.manifest import manifest_path

PROJECT_DIR = Path(os.environ.get("XP_DBT_PROJECT_DIR", ".")).resolve()
CONFIG = load_config(os.environ.get("XP_CONFIG") or PROJECT_DIR / "experiments.yml")
TARGET = load_target(PROJECT_DIR)

# Our models exist in the manifest only when the config is passed: parse with it.
run_dbt("parse", TARGET, CONFIG)


@dbt_assets(manifest=manifest_path(PROJECT_DIR))
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):
    vars_json = json.dumps(CONFIG.to_dbt_vars())
    yield from dbt.cli(["build", "--vars", vars_json], context=context).stream()


@dg.asset(deps=[get_asset_key_for_model([dbt_models], "fct_variant_metric_statistics")])
def experiment_results(context: AssetExecutionContext) -> dg.MaterializeResult:
    """Welch and CUPED results and diagnostics, written back next to the statistics mart."""
    results = run_analysis(TARGET, CONFIG)
    context.log.info("wrote %d comparisons", len(results.results))
    return dg.MaterializeResult(
        metadata={
            "comparisons": len(results.results),
            "experiments": len(results.diagnostics),
            "sample_ratio_mismatches": int((results.diagnostics["srm_status"] == "fail").sum()),
        }
    )


nightly = dg.ScheduleDefinition(
    job=dg.define_asset_job("nightly_experiments", selection=[dbt_models, experiment_results]),
    cron_schedule="0 4 * * *",
)

# The dbt installed next to this Python (the same environment as this package), else PATH's.
_LOCAL_DBT = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_LOCAL_DBT) if _LOCAL_DBT.exists() else (shutil.which("dbt") or "dbt")

defs = dg.Definitions(
    assets=[dbt_models, experiment_results],
    schedules=[nightly],
    resources={
        "dbt": DbtCliResource(
            project_dir=str(PROJECT_DIR),
            profiles_dir=str(TARGET.profiles_dir),
            target=TARGET.target_name,
            dbt_executable=DBT_EXECUTABLE,
        )
    },
)

#!/usr/bin/env bash
# `dbt parse` of this project with the adapters of the warehouses that are not tested here
# (Snowflake, BigQuery, Redshift, Databricks; docs/engines.md, "Other warehouses"), each
# against a throw-away profile: parsing renders every model and dispatches our macros for
# that adapter, without a connection. Then checks what the dispatch chose where it decides
# a model's materialization. Needs the project's `xp` for the demo vars (XP, by default
# .venv/bin/xp). Usage: scripts/check_other_adapters.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export DO_NOT_TRACK=1 PIP_DISABLE_PIP_VERSION_CHECK=1
xp=${XP:-.venv/bin/xp}
vars=$("$xp" dbt-vars)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Two virtual environments: dbt-databricks 1.11 pins dbt-adapters below 1.23 and
# dbt-redshift 1.11 needs 1.24.1 or later, so they cannot share one. Exact pins keep pip
# from searching through releases. pathspec 0.12.1: dbt-core 1.11 excludes 1.0.
pins_common=(pathspec==0.12.1)
pins_warehouses=(dbt-core==1.11.16 dbt-snowflake==1.11.6 dbt-bigquery==1.11.3 dbt-redshift==1.11.2)
pins_databricks=(dbt-core==1.11.8 dbt-databricks==1.11.8)
install() {
    local name=$1
    shift
    python3 -m venv "$work/$name"
    # Without the warnings about pip's configured local indexes that this machine lacks.
    "$work/$name/bin/pip" install -q --no-compile "${pins_common[@]}" "$@" 2>&1 |
        { grep -v "^WARNING: Location '.*' is ignored" || true; }
}
install warehouses "${pins_warehouses[@]}" &
warehouses_pid=$!
install databricks "${pins_databricks[@]}" &
databricks_pid=$!
wait "$warehouses_pid"
wait "$databricks_pid"

# parse needs a profile of the adapter's type; no field is used to connect.
cat >"$work/profiles.yml" <<'YAML'
experiment_analysis:
  target: snowflake
  outputs:
    snowflake:
      type: snowflake
      account: parse-only
      user: parse-only
      password: parse-only
      role: parse-only
      database: parse_only
      warehouse: parse_only
      schema: experiment_analysis
      threads: 1
    bigquery:
      type: bigquery
      method: oauth
      project: parse-only
      dataset: experiment_analysis
      threads: 1
    redshift:
      type: redshift
      host: parse-only.invalid
      port: 5439
      user: parse-only
      password: parse-only
      dbname: parse_only
      schema: experiment_analysis
      threads: 1
    databricks:
      type: databricks
      host: parse-only.invalid
      http_path: /sql/1.0/warehouses/parse-only
      token: parse-only
      catalog: parse_only
      schema: experiment_analysis
      threads: 1
YAML

# The incremental models' materialization, as our dispatch decides it per adapter
# (macros/xp_incremental.sql): Databricks takes Spark's version through dbt's parent adapter.
declare -A expected=([snowflake]=incremental [bigquery]=table [redshift]=incremental
                     [databricks]=table)
for adapter in snowflake bigquery redshift databricks; do
    venv="$work/warehouses"
    [ "$adapter" = databricks ] && venv="$work/databricks"
    target_path="$work/target-$adapter"
    "$venv/bin/dbt" --quiet parse --project-dir . --profiles-dir "$work" --target "$adapter" \
        --vars "$vars" --target-path "$target_path" --log-path "$work/logs"
    "$venv/bin/python" - "$target_path/manifest.json" "$adapter" "${expected[$adapter]}" <<'PY'
import json
import sys

manifest, adapter, expected = sys.argv[1:]
nodes = json.load(open(manifest))["nodes"]
models = {
    node["name"]: node["config"]["materialized"]
    for node in nodes.values()
    if node["resource_type"] == "model" and node["package_name"] == "experiment_analysis"
}
found = models["int_exposures_deduplicated"]
if found != expected:
    sys.exit(f"{adapter}: int_exposures_deduplicated is {found}, expected {expected}")
print(f"{adapter}: dbt parse passed ({len(models)} models; incremental models: {found})")
PY
done

"""A config of quantile metrics on the demo data, and a DuckDB run of it (several tests')."""

from __future__ import annotations

from pathlib import Path

from analysis_py.config import load_config
from tests.conftest import DEMO_ANALYSIS_AT, REPO, DemoRun

QUANTILES = """
event_sources:
  - id: support_tickets
    dbt_source: {source: experimentation, table: support_tickets}
    subject_id_column: user_id
    timestamp_column: opened_at
    value_column: minutes_to_resolve
metrics:
  - {id: revenue, event_name: purchase, aggregation: sum, window: {start_day: 0, end_day: 14}}
  - {id: revenue_p90, event_name: purchase, aggregation: quantile, quantile: 0.9,
     window: {start_day: 0, end_day: 14}}
  - {id: revenue_median_of_buyers, event_name: purchase, aggregation: quantile, quantile: 0.5,
     ignore_zeros: true, window: {start_day: 0, end_day: 14}}
  - {id: sessions_p75, event_name: session_start, aggregation: quantile, quantile: 0.75,
     of: count, window: {start_day: 0, end_day: 14}}
  - {id: ticket_minutes_p90, source: support_tickets, aggregation: quantile, quantile: 0.9,
     ignore_zeros: true, window: {start_day: 0, end_day: 14}}
experiments:
  - id: checkout_redesign
    variants: [control, treatment]
    control: control
    traffic: {control: 0.5, treatment: 0.5}
    metrics: [revenue, revenue_p90, revenue_median_of_buyers, sessions_p75, ticket_minutes_p90]
    lookback_days: 7
  - id: onboarding_flow
    variants: [control, short_form, guided_tour]
    control: control
    traffic: {control: 0.34, short_form: 0.33, guided_tour: 0.33}
    metrics:
      primary: [sessions_p75]
      guardrail: [revenue_p90]
    lookback_days: 7
"""


def quantile_config(directory: Path) -> Path:
    """QUANTILES written to a file in ``directory``."""
    path = directory / "quantiles.yml"
    path.write_text(QUANTILES)
    return path


def run_quantiles(config: Path) -> None:
    """`xp run` of ``config`` at the demo's analysis time, on the target the env names."""
    from analysis_py.cli import main

    arguments = ["run", "--project-dir", str(REPO), "--config", str(config)]
    assert main([*arguments, "--analysis-at", DEMO_ANALYSIS_AT.isoformat()]) == 0


def duckdb_quantile_run(directory: Path) -> DemoRun:
    """The quantile config run into a DuckDB file of its own in ``directory``."""
    import os

    config, path = quantile_config(directory), directory / "quantiles.duckdb"
    previous = os.environ.get("XP_DUCKDB_PATH")
    os.environ["XP_DUCKDB_PATH"] = str(path)
    try:
        run_quantiles(config)
    finally:
        if previous is None:
            del os.environ["XP_DUCKDB_PATH"]
        else:
            os.environ["XP_DUCKDB_PATH"] = previous
    return DemoRun(path, load_config(config))

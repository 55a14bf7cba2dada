"""Peer paths for scripts/benchmark.py, each run in a fresh process on the same Parquet data.

    python scripts/benchmark_peers.py pandas <data dir>       # pandas + statsmodels
    python scripts/benchmark_peers.py tea-tasting <data dir>  # DuckDB per-subject table,
                                                              # then tea-tasting CUPED

Both compute what the pipeline computes for the benchmark config (first exposures, subjects
in one variant only, 10 metrics = 5 event names × {sum, count} over 14 days after first
exposure, 14-day pre-exposure covariates) and print one line per experiment and metric, so a
run can be checked by eye against experiment_results.
"""

from __future__ import annotations

import sys
from pathlib import Path

WINDOW_DAYS = 14
LOOKBACK_DAYS = 14
EVENT_NAMES = ("page_view", "session_start", "add_to_cart", "purchase", "support_ticket")


def pandas_statsmodels(data: Path) -> list[tuple[str, str, float, float]]:
    """Load, merge, group by, then OLS y ~ treatment + x (CUPED as a regression) per metric."""
    import pandas as pd
    import statsmodels.formula.api as smf

    assignments = pd.read_parquet(data / "assignments.parquet")
    events = pd.read_parquet(data / "events.parquet")
    first = (
        assignments.groupby(["experiment_id", "subject_id"])
        .agg(
            exposed_at=("assigned_at", "min"),
            variant_id=("variant_id", "first"),
            n_variants=("variant_id", "nunique"),
        )
        .reset_index()
    )
    first = first[first.n_variants == 1].drop(columns="n_variants")
    joined = events.merge(first, on="subject_id")
    since = joined.event_at - joined.exposed_at
    day = pd.Timedelta(days=1)
    joined["period"] = None
    joined.loc[(since >= pd.Timedelta(0)) & (since < WINDOW_DAYS * day), "period"] = "y"
    joined.loc[(since < pd.Timedelta(0)) & (since >= -LOOKBACK_DAYS * day), "period"] = "x"
    joined = joined[joined.period.notna()]
    sums = (
        joined.groupby(["experiment_id", "subject_id", "event_name", "period"])
        .agg(count=("event_at", "size"), sum=("value", "sum"))
        .unstack(["event_name", "period"])
    )
    sums.columns = [f"{name}_{aggregation}_{period}" for aggregation, name, period in sums.columns]
    per_subject = first.set_index(["experiment_id", "subject_id"]).join(sums).fillna(0)
    per_subject["treatment"] = (per_subject.variant_id == "treatment").astype(float)
    results = []
    for experiment_id, subjects in per_subject.groupby(level="experiment_id"):
        for name in EVENT_NAMES:
            for aggregation in ("sum", "count"):
                y, x = f"{name}_{aggregation}_y", f"{name}_{aggregation}_x"
                frame = subjects[["treatment"]].assign(
                    y=subjects.get(y, 0.0), x=subjects.get(x, 0.0)
                )
                fit = smf.ols("y ~ treatment + x", data=frame).fit(cov_type="HC2")
                results.append(
                    (
                        experiment_id,
                        f"{name}_{aggregation}",
                        float(fit.params["treatment"]),
                        float(fit.pvalues["treatment"]),
                    )
                )
    return results


def per_subject_aggregates() -> list[str]:
    """The per-subject columns of the one-pass query (the floor's and tea-tasting's).

    For each event name, count and sum in the window (y) and before exposure (x), over
    events ``e`` joined to first exposures ``f`` within the lookback and the window.
    """
    aggregates = []
    for name in EVENT_NAMES:
        for period, condition in (
            ("y", "e.event_at >= f.exposed_at"),
            ("x", "e.event_at < f.exposed_at"),
        ):
            match = f"e.event_name = '{name}' and {condition}"
            aggregates.append(f"count(*) filter (where {match}) as {name}_count_{period}")
            aggregates.append(
                f"coalesce(sum(e.value) filter (where {match}), 0) as {name}_sum_{period}"
            )
    return aggregates


def tea_tasting(data: Path) -> list[tuple[str, str, float, float]]:
    """tea-tasting's CUPED t-test (pandas backend) on a per-subject table built in DuckDB.

    The table is built in one pass, as the floor builds it.
    """
    import duckdb
    import tea_tasting as tt

    aggregates = per_subject_aggregates()
    connection = duckdb.connect()
    connection.execute("set threads = 2")
    per_subject = connection.execute(f"""
        with first_exposures as (
            select experiment_id, subject_id, min(assigned_at) as exposed_at,
                   min(variant_id) as variant_id
            from '{data / "assignments.parquet"}' group by experiment_id, subject_id
            having count(distinct variant_id) = 1
        )
        select f.experiment_id, f.variant_id, {", ".join(aggregates)}
        from first_exposures f
        left join '{data / "events.parquet"}' e
            on e.subject_id = f.subject_id
            and e.event_at >= f.exposed_at - interval {LOOKBACK_DAYS} day
            and e.event_at < f.exposed_at + interval {WINDOW_DAYS} day
        group by f.experiment_id, f.variant_id, f.subject_id
    """).df()
    metrics = {
        f"{name}_{aggregation}": tt.Mean(
            f"{name}_{aggregation}_y", covariate=f"{name}_{aggregation}_x"
        )
        for name in EVENT_NAMES
        for aggregation in ("sum", "count")
    }
    experiment = tt.Experiment(metrics, variant="variant_id")
    results = []
    for experiment_id, subjects in per_subject.groupby("experiment_id"):
        for row in experiment.analyze(subjects, control="control").to_dicts():
            results.append((experiment_id, row["metric"], row["effect_size"], row["pvalue"]))
    return results


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")  # metrics without values (sums of 0) give NaN tests
    path, data = sys.argv[1], Path(sys.argv[2])
    rows = {"pandas": pandas_statsmodels, "tea-tasting": tea_tasting}[path](data)
    for experiment_id, metric_id, effect, p_value in rows:
        print(f"{experiment_id} {metric_id} {effect:.6g} {p_value:.4g}")

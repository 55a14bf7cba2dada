"""Dimension slices and results over time on the demo.

Each dimension slice is recomputed independently: the dimension value at first exposure and
the top-N + "(other)" folding in pandas from the raw assignment seed, then tea-tasting's CUPED
t-test on the demo's per-subject facts filtered to that value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tea_tasting as tt

from analysis_py.result_tables import LATEST_TABLES, column_names
from tests.conftest import SEEDS, DemoRun

EXACT = 1e-9


def pandas_dimension_values(experiment, column: str) -> pd.DataFrame:
    assignments = pd.read_csv(SEEDS / "demo_assignments.csv", parse_dates=["assigned_at"])
    rows = assignments[assignments.experiment_id == experiment.id]
    first = rows.groupby("subject_id").assigned_at.transform("min")
    values = rows[rows.assigned_at == first].groupby("subject_id")[column].min()
    return values.rename("dimension_value").reset_index()


def test_dimension_slices_equal_tea_tasting_on_filtered_subjects(demo_run: DemoRun) -> None:
    facts = demo_run.query("select * from fct_subject_metrics")
    results = demo_run.query("select * from experiment_dimension_results")
    checked = 0
    for experiment in demo_run.config.experiments:
        for column in experiment.dimensions:
            values = pandas_dimension_values(experiment, column)
            analysed = facts[facts.experiment_id == experiment.id].merge(values, on="subject_id")
            counts = analysed.drop_duplicates("subject_id").dimension_value.value_counts()
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            top = {value for value, _ in ranked[: experiment.max_dimension_values]}
            analysed["dimension_value"] = analysed.dimension_value.where(
                analysed.dimension_value.isin(top), "(other)"
            )
            mine = results[
                (results.experiment_id == experiment.id) & (results.dimension_name == column)
            ]
            assert set(mine.dimension_value) == set(analysed.dimension_value)
            for (value, metric, treatment), row in mine.set_index(
                ["dimension_value", "metric_id", "treatment_variant_id"]
            ).iterrows():
                subset = analysed[
                    (analysed.dimension_value == value)
                    & (analysed.metric_id == metric)
                    & analysed.variant_id.isin([experiment.control, treatment])
                ]
                if demo_run.config.metrics[metric].is_ratio:
                    # Delta method with ratio CUPED (numerator and denominator covariates).
                    tested = tt.RatioOfMeans(
                        "metric_value",
                        "denominator_value",
                        "covariate_value",
                        "covariate_denominator_value",
                    )
                else:
                    tested = tt.Mean("metric_value", covariate="covariate_value")
                reference = (
                    tt.Experiment(y=tested, variant="variant_id")
                    .analyze(subset, control=experiment.control)
                    .to_dicts()[0]
                )
                # A slice where a sparse metric is 0 for everyone has no test: NaN in both.
                assert row.cuped_absolute_effect == pytest.approx(
                    reference["effect_size"], rel=EXACT, nan_ok=True
                )
                assert row.cuped_p_value == pytest.approx(
                    reference["pvalue"], rel=EXACT, nan_ok=True
                )
                assert row.treatment_n == (subset.variant_id == treatment).sum()
                checked += 1
    assert checked == len(results) > 50


def test_each_slice_has_its_own_sample_ratio_check(demo_run: DemoRun) -> None:
    results = demo_run.query("select * from experiment_dimension_results")
    per_slice = results.groupby(["experiment_id", "dimension_name", "dimension_value"])
    assert (per_slice.slice_srm_p_value.nunique() == 1).all()
    assert results.slice_srm_status.isin(["ok", "fail"]).all()
    # A slice's subjects: its control plus its treatments, as in the slice's rows.
    row = results.iloc[0]
    assert row.slice_n_subjects >= row.control_n + row.treatment_n


def test_last_day_of_the_time_series_equals_the_overall_result(demo_run: DemoRun) -> None:
    over_time = demo_run.query("select * from experiment_results_over_time")
    overall = demo_run.query("select * from experiment_results")
    last_day = over_time[
        over_time.day_number == over_time.groupby("experiment_id").day_number.transform("max")
    ]
    keys = ["experiment_id", "metric_id", "treatment_variant_id"]
    joined = overall.merge(last_day, on=keys, suffixes=("", "_t"))
    # Not replayed day by day: metrics counting only matured subjects (retention).
    replayed = overall[overall.metric_id != "returned_week_2"]
    assert len(joined) == len(replayed) == 22
    doubles = {c.name for c in LATEST_TABLES["experiment_results"] if c.type == "double"}
    estimate_columns = [
        c
        for c in column_names("experiment_results")
        if c in doubles
        and (
            c.startswith(("cuped_", "control_", "treatment_"))
            or c in ("absolute_effect", "relative_effect", "p_value", "relative_p_value")
        )
    ]
    for column in estimate_columns:
        if column.endswith("_variant_id"):
            continue
        np.testing.assert_allclose(
            joined[column + "_t"].astype(float),
            joined[column].astype(float),
            rtol=EXACT,
            equal_nan=True,
            err_msg=column,
        )
    # Where CUPED decides (not CUPED++) and the testing family is whole (checkout_redesign
    # replays every metric; onboarding_flow's family lacks its retention metric), the
    # decision columns agree too.
    cuped = joined[
        (joined.decision_estimate == "cuped") & (joined.experiment_id == "checkout_redesign")
    ]
    assert len(cuped) == 10
    np.testing.assert_allclose(cuped.adjusted_p_value_t, cuped.adjusted_p_value, rtol=EXACT)


def test_time_series_grows_day_by_day(demo_run: DemoRun) -> None:
    over_time = demo_run.query(
        "select * from experiment_results_over_time "
        "order by experiment_id, metric_id, treatment_variant_id, "
        "day_number"
    )
    assert list(over_time.columns) == column_names("experiment_results_over_time")
    for _, series in over_time.groupby(["experiment_id", "metric_id", "treatment_variant_id"]):
        assert series.day_number.is_monotonic_increasing
        assert (series.control_n.diff().dropna() >= 0).all()
        assert series.day_number.iloc[0] == 1
    assert set(LATEST_TABLES) >= {"experiment_results_over_time", "experiment_dimension_results"}


@pytest.mark.parametrize(
    ("experiment_id", "metric_id"),
    [
        ("checkout_redesign", "revenue"),
        ("checkout_redesign", "revenue_capped"),
        ("onboarding_flow", "purchased"),
    ],
)
def test_a_day_of_the_time_series_equals_pandas_as_of_that_day(
    demo_run: DemoRun, experiment_id: str, metric_id: str
) -> None:
    """Sums as of the end of a middle day: subjects exposed by then, events by then."""
    daily = demo_run.query(f"""select * from fct_variant_metric_daily_statistics
        where experiment_id = '{experiment_id}' and metric_id = '{metric_id}'""")
    day = sorted(daily.as_of_date.unique())[len(daily.as_of_date.unique()) // 2]
    cutoff = pd.Timestamp(day) + pd.Timedelta(days=1)
    metric = demo_run.config.metrics[metric_id]
    facts = demo_run.query(f"""select * from fct_subject_metrics
        where experiment_id = '{experiment_id}' and metric_id = '{metric_id}'""")
    exposed = facts[facts.first_exposed_at < cutoff].copy()
    events = pd.read_csv(SEEDS / "demo_events.csv", parse_dates=["event_at"])
    events = events[(events.event_name == metric.event_name) & (events.event_at < cutoff)]
    joined = events.merge(exposed[["subject_id", "first_exposed_at"]], on="subject_id")
    seconds = (joined.event_at - joined.first_exposed_at).dt.total_seconds()
    in_window = joined[
        (seconds >= metric.window.start_seconds) & (seconds < metric.window.end_seconds)
    ]
    grouped = in_window.groupby("subject_id")
    values = {
        "sum": grouped.value.sum(),
        "count": grouped.size(),
        "conversion": (grouped.size() > 0).astype(float),
    }[metric.aggregation]
    exposed["y"] = exposed.subject_id.map(values).fillna(0.0).astype(float)
    if metric.winsorize:
        # Every day is capped at the final cap: the 99th percentile of the uncapped values
        # over all the experiment's subjects at the end (from the uncapped sibling metric).
        final = demo_run.query(f"""select metric_value from fct_subject_metrics
            where experiment_id = '{experiment_id}' and metric_id = 'revenue'""")
        exposed["y"] = exposed.y.clip(upper=final.metric_value.quantile(metric.winsorize.upper))
    for variant, row in daily[daily.as_of_date == day].set_index("variant_id").iterrows():
        arm = exposed[exposed.variant_id == variant]
        assert row.n == len(arm)
        assert row.sum_y == pytest.approx(arm.y.sum(), rel=EXACT, abs=1e-9)
        assert row.sum_y_squares == pytest.approx((arm.y**2).sum(), rel=EXACT, abs=1e-9)
        assert row.sum_xy == pytest.approx((arm.y * arm.covariate_value).sum(), rel=EXACT, abs=1e-9)
        assert row.sum_x == pytest.approx(arm.covariate_value.sum(), rel=EXACT, abs=1e-9)
    # A middle day is not the end: the last day holds more data than this one.
    assert (
        daily[daily.as_of_date == day].n.sum()
        <= daily[daily.day_number == daily.day_number.max()].n.sum()
    )

"""Ratio metrics on the demo: the delta method and ratio CUPED against two references.

The references are tea-tasting's RatioOfMeans and a hand delta-method computation, both on
per-subject values that pandas derives from the raw seed CSVs (not from dbt's tables).
"""

from __future__ import annotations

import numpy as np
import pytest
import tea_tasting as tt
from scipy import stats

from tests.conftest import DemoRun
from tests.integration.dbt.test_statistics_mart import pandas_subject_values

EXACT = 1e-9  # same data, same formulas, different order of floating-point sums
RATIOS = [
    ("checkout_redesign", "average_order_value", "treatment"),
    ("onboarding_flow", "purchases_per_session", "short_form"),
    ("onboarding_flow", "purchases_per_session", "guided_tour"),
]


@pytest.fixture(scope="module")
def subjects(demo_run: DemoRun):
    return pandas_subject_values(demo_run.config, demo_run.analysis_at)


@pytest.fixture(scope="module")
def results(demo_run: DemoRun):
    return demo_run.query("select * from experiment_results").set_index(
        ["experiment_id", "metric_id", "treatment_variant_id"]
    )


@pytest.mark.parametrize(("experiment_id", "metric_id", "treatment"), RATIOS)
def test_ratio_equals_tea_tasting_ratio_of_means(
    subjects, results, demo_run: DemoRun, *, experiment_id, metric_id, treatment
) -> None:
    control = demo_run.config.experiment(experiment_id).control
    data = subjects[
        (subjects.experiment_id == experiment_id)
        & (subjects.metric_id == metric_id)
        & subjects.variant_id.isin([control, treatment])
    ]
    row = results.loc[(experiment_id, metric_id, treatment)]
    for prefix, metric in (
        ("", tt.RatioOfMeans("y", "d")),
        ("cuped_", tt.RatioOfMeans("y", "d", "x", "w")),
    ):
        reference = (
            tt.Experiment(y=metric, variant="variant_id")
            .analyze(data, control=control)
            .to_dicts()[0]
        )
        assert row[prefix + "control_mean"] == pytest.approx(reference["control"], rel=EXACT)
        assert row[prefix + "treatment_mean"] == pytest.approx(reference["treatment"], rel=EXACT)
        assert row[prefix + "absolute_effect"] == pytest.approx(reference["effect_size"], rel=EXACT)
        for side in ("lower", "upper"):
            assert row[f"{prefix}absolute_effect_ci_{side}"] == pytest.approx(
                reference[f"effect_size_ci_{side}"], rel=EXACT
            )
        assert row[prefix + "p_value"] == pytest.approx(reference["pvalue"], rel=EXACT)
        # tea-tasting's relative interval is log-normal, ours the delta method: only the
        # point estimate is shared.
        assert row[prefix + "relative_effect"] == pytest.approx(
            reference["rel_effect_size"], rel=EXACT
        )
    # The covariates help: CUPED narrows the interval.
    assert row.cuped_variance_reduction > 0


@pytest.mark.parametrize(("experiment_id", "metric_id", "treatment"), RATIOS)
def test_ratio_equals_a_hand_delta_method(
    subjects, results, demo_run: DemoRun, *, experiment_id, metric_id, treatment
) -> None:
    """Var(ȳ/d̄) ≈ gᵀ S g / n with g = (1/d̄, -ȳ/d̄²) and S the sample covariance of (y, d)."""
    control = demo_run.config.experiment(experiment_id).control
    row = results.loc[(experiment_id, metric_id, treatment)]
    moments = {}
    for variant in (control, treatment):
        arm = subjects[
            (subjects.experiment_id == experiment_id)
            & (subjects.metric_id == metric_id)
            & (subjects.variant_id == variant)
        ]
        y, d = arm.y.to_numpy(), arm.d.to_numpy()
        gradient = np.array([1 / d.mean(), -y.mean() / d.mean() ** 2])
        variance_of_ratio = gradient @ np.cov(np.vstack([y, d]), ddof=1) @ gradient / len(y)
        moments[variant] = (y.mean() / d.mean(), variance_of_ratio, len(y))
    (mean_c, var_c, n_c), (mean_t, var_t, n_t) = moments[control], moments[treatment]
    std_error = np.sqrt(var_c + var_t)
    df = (var_c + var_t) ** 2 / (var_c**2 / (n_c - 1) + var_t**2 / (n_t - 1))
    p_value = 2 * stats.t.sf(abs((mean_t - mean_c) / std_error), df)
    assert row.absolute_effect == pytest.approx(mean_t - mean_c, rel=EXACT)
    assert row.absolute_effect_std_error == pytest.approx(std_error, rel=EXACT)
    assert row.degrees_of_freedom == pytest.approx(df, rel=EXACT)
    assert row.p_value == pytest.approx(p_value, rel=EXACT)

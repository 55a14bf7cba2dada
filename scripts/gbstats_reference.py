"""Reference numbers from GrowthBook's stats engine (gbstats), for the decision tests.

The tests are in tests/unit/stats/test_decision_methods.py.

gbstats 0.8.0 pins numpy<2 and pandas<2, so it cannot live in this project's environment.
Run this script in a separate one; it writes tests/data/gbstats_reference.json:

    python3 -m venv /tmp/gbvenv && /tmp/gbvenv/bin/pip install gbstats==0.8.0
    /tmp/gbvenv/bin/python scripts/gbstats_reference.py > tests/data/gbstats_reference.json
"""

import json

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import SampleMeanStatistic
from gbstats.utils import check_srm

# (n, sum, sum of squares) of control and treatment.
CASES = [
    ((5000, 10_150.0, 52_300.0), (5100, 10_760.0, 57_900.0)),
    ((1200, 300.0, 300.0), (1150, 330.0, 330.0)),  # conversion-like
    ((40_000, 812_000.0, 41_500_000.0), (40_400, 815_000.0, 41_900_000.0)),
    ((20_000, 40_000.0, 160_000.0), (20_000, 42_000.0, 168_200.0)),  # clear effect
    # gbstats' own two-sided t-test case (tests/frequentist/test_tests.py): the absolute
    # difference is significant (p 0.020) and the relative one is not (p 0.062).
    ((3407, 1396.87, 52377.98), (3461, 2422.7, 134698.29)),
]
# Sums no data can give (Σy² < (Σy)²/n in the control arm): gbstats refuses them.
IMPOSSIBLE = ((3407, 1396.87, 52.0), (3461, 2422.7, 134698.29))

out = []
for control, treatment in CASES:
    a = SampleMeanStatistic(n=control[0], sum=control[1], sum_squares=control[2])
    b = SampleMeanStatistic(n=treatment[0], sum=treatment[1], sum_squares=treatment[2])
    case = {"control": control, "treatment": treatment}
    for difference in ("relative", "absolute"):
        fixed = TwoSidedTTest(a, b, FrequentistConfig(difference_type=difference, alpha=0.05))
        result = fixed.compute_result()
        case[f"fixed_{difference}"] = {"ci": list(result.ci), "p_value": result.p_value}
        sequential = SequentialTwoSidedTTest(
            a,
            b,
            SequentialConfig(
                difference_type=difference, alpha=0.05, sequential_tuning_parameter=5000
            ),
        )
        result = sequential.compute_result()
        case[f"sequential_{difference}"] = {"ci": list(result.ci), "p_value": result.p_value}
    bayes = EffectBayesianABTest(
        a,
        b,
        EffectBayesianConfig(
            difference_type="relative",
            alpha=0.05,
            prior_effect=GaussianPrior(mean=0, variance=0.3**2, proper=True),
        ),
    )
    result = bayes.compute_result()
    case["bayesian_relative"] = {
        "mean": result.uplift.mean,
        "stddev": result.uplift.stddev,
        "ci": list(result.ci),
        "chance_to_win": result.chance_to_win,
        "risk_control": result.risk[0],
        "risk_treatment": result.risk[1],
    }
    out.append(case)

srm = {"users": [1000, 600, 400], "weights": [0.5, 0.25, 0.25]}
srm["p_value"] = check_srm(srm["users"], srm["weights"])
impossible = TwoSidedTTest(
    *(SampleMeanStatistic(n=n, sum=total, sum_squares=squares) for n, total, squares in IMPOSSIBLE)
).compute_result()
refused = {
    "control": IMPOSSIBLE[0],
    "treatment": IMPOSSIBLE[1],
    "error_message": impossible.error_message,
}
print(json.dumps({"cases": out, "srm": srm, "impossible": refused}, indent=1))

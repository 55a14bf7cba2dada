"""Statistical defaults: the one home of every analysis knob that has a default.

SQL-side knobs (windows, lookbacks, which tables to read) live in the experiment config file
and dbt vars; nothing here reaches SQL.
"""

from __future__ import annotations

#: Two-sided confidence level of every interval, unless an experiment sets its own.
CONFIDENCE_LEVEL = 0.95

#: Sample-ratio mismatch is flagged below this chi-square p-value (Eppo, GrowthBook and
#: Statsig all use 0.001, after Fabijan et al., KDD 2019).
SRM_P_VALUE_THRESHOLD = 0.001

#: An arm needs at least this many subjects for a variance (n - 1 > 0).
MIN_SUBJECTS_PER_ARM = 2

#: Multiple-testing correction over an experiment's primary and secondary metrics ×
#: treatments (guardrails apart): "holm" (family-wise error), "benjamini_hochberg" (false
#: discovery rate) or "none".
MULTIPLE_TESTING = "holm"

#: Always-valid (sequential) intervals are off unless an experiment asks for them. The tuning
#: parameter N* is the total sample size at which the confidence sequence is tightest
#: (GrowthBook's default, Waudby-Smith et al. 2023).
SEQUENTIAL = False
SEQUENTIAL_TUNING = 5000.0

#: The Bayesian analysis runs unless an experiment turns it off.
BAYESIAN = True

#: Standard deviation of the normal prior on the relative effect, N(0, 0.3²): 68% of lifts
#: within ±30% (GrowthBook's proper prior).
BAYESIAN_PRIOR_SD = 0.3

#: Which CUPED estimate decides: "single" (the metric's own pre-exposure value), "multi"
#: (CUPED++: the pre-exposure values of all the experiment's metrics) or "none".
CUPED = "single"

#: Power analysis: the relative effect a test should detect, and with what power.
TARGET_RELATIVE_EFFECT = 0.05
POWER = 0.8

#: Health checks (GrowthBook's defaults where it has one).
MIN_SAMPLE_SIZE_PER_ARM = 150  # GrowthBook DEFAULT_MIN_SAMPLE_SIZE
MULTI_VARIANT_SHARE_WARNING = 0.01  # GrowthBook DEFAULT_MULTIPLE_EXPOSURES_THRESHOLD
PRE_EXPOSURE_IMBALANCE_P_VALUE = 0.001  # before Bonferroni over metrics × treatments
SUSPICIOUS_RELATIVE_EFFECT = 0.5  # GrowthBook DEFAULT_MAX_PERCENT_CHANGE
MIN_PRE_EXPOSURE_DATA_SHARE = 0.05  # Statsig's CUPED eligibility

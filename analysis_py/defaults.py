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

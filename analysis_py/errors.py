"""The analysis step's own exceptions, which `xp` turns into its one-line errors.

They live apart from the modules that raise them so that the command can name them
without importing the analysis stack (pandas, scipy) before dbt has started its build.
"""

from __future__ import annotations


class AnalysisError(ValueError):
    """The statistics mart cannot be analysed as it stands; the message says why."""


class InterruptedAfterWrite(KeyboardInterrupt):
    """Interrupted once the new results were committed."""

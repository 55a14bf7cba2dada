"""From the marts' rows to the result tables' rows, and the preflight.

Comparisons, statuses, decisions and verdicts, diagnostics and health checks are pure (no
connection); the preflight judges what dbt reports about the warehouse.
"""

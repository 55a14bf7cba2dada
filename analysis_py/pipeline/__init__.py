"""From the marts' rows to the result tables' rows: comparisons, decisions and verdicts,
health checks, and the preflight's judgement of the warehouse. Pure: no connection.
"""

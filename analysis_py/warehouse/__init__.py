"""Everything that touches the warehouse or dbt.

The dbt target and profile, dbt runs, the manifest, and reading the marts and writing the
result tables.
"""

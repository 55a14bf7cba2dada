{#- How the analysis step hands this adapter the result tables' rows, and whether the write
    is one transaction (analysis_py/warehouse/bridge.py). `files`: the engine reads a local
    Parquet file, far faster than bound values (else the rows go as bound values).
    `transaction`: xp_write_results replaces the tables inside one transaction. `method` is
    the target's connection method, where the adapter has one (dbt's `target` lacks it). -#}
{% macro xp_write_results_options(method=none) -%}
    {{ return(adapter.dispatch('xp_write_results_options', 'experiment_analysis')(method)) }}
{%- endmacro %}

{% macro default__xp_write_results_options(method) -%}
    {{ return({'files': false, 'transaction': true}) }}
{%- endmacro %}

{% macro duckdb__xp_write_results_options(method) -%}
    {{ return({'files': true, 'transaction': true}) }}
{%- endmacro %}

{#- Spark reads this machine's files only as a session in this process (method: session);
    a cluster reached over the network does not see them. -#}
{% macro spark__xp_write_results_options(method) -%}
    {{ return({'files': method == 'session', 'transaction': false}) }}
{%- endmacro %}

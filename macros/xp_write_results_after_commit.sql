{#- Steps after the write's commit, each {sql, what, otherwise}: the results are committed
    already, so the analysis step warns when one fails ("the results are committed, but
    <what> failed; <otherwise>"). -#}
{% macro xp_write_results_after_commit() -%}
    {{ return(adapter.dispatch('xp_write_results_after_commit', 'experiment_analysis')()) }}
{%- endmacro %}

{% macro default__xp_write_results_after_commit() -%}
    {{ return([]) }}
{%- endmacro %}

{#- DuckDB: move the new tables from the write-ahead log into the file itself, so that a copy
    of the file, or a reader in another process, sees them. -#}
{% macro duckdb__xp_write_results_after_commit() -%}
    {{ return([{
        'sql': 'checkpoint',
        'what': "moving them from the write-ahead log into '" ~ target.path ~ "'",
        'otherwise': 'DuckDB does it when it next opens the file',
    }]) }}
{%- endmacro %}

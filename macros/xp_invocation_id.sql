{#- The dbt invocation that built a mart, as a column value (dbt's invocation_id). The
    analysis step reads several marts and refuses them unless one invocation built them all:
    a build stopped part-way, or one that selected only some of them, leaves the others as
    an earlier build wrote them, for another time, config or data
    (analysis_py/run.py, check_one_build). -#}
{% macro xp_invocation_id_sql() -%}
    cast({{ xp_string_literal(invocation_id) }} as {{ dbt.type_string() }})
{%- endmacro %}

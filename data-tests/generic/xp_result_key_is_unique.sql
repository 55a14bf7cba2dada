{#- A result table's key columns are never null and unique together. The analysis step
    writes the table after `dbt build`, so before the first analysis there is nothing to
    test and the test passes. -#}
{% test xp_result_key_is_unique(model, columns) %}
    {%- if execute and load_relation(model) is not none %}
        {%- set key = columns | join(', ') %}
        select {{ key }}, count(*) as n_rows
        from {{ model }}
        group by {{ key }}
        having count(*) > 1
            {%- for column in columns %}
            or max(case when {{ column }} is null then 1 else 0 end) = 1
            {%- endfor %}
    {%- else %}
        select 1 as no_table_yet where 1 = 0
    {%- endif %}
{% endtest %}

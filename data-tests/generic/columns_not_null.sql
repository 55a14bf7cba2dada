{#- None of the columns is null: one scan for all of them, where a not_null test per
    column would read the model once each (costly on a large view). The failing rows are
    returned. -#}
{% test columns_not_null(model, column_names) %}
    select *
    from {{ model }}
    where
    {%- for column in column_names %}
        {{ column }} is null{{ ' or' if not loop.last }}
    {%- endfor %}
{% endtest %}

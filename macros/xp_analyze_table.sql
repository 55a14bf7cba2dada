{#- Post-hook for every model: on Postgres, gather planner statistics on a table as soon as
    it is built; without them the planner takes a fresh table for a tiny one and chooses
    nested loops. Nothing on other engines, and nothing for views. -#}
{% macro xp_analyze_table() -%}
    {{ return(adapter.dispatch('xp_analyze_table', 'experiment_analysis')()) }}
{%- endmacro %}

{% macro default__xp_analyze_table() -%}
{%- endmacro %}

{% macro postgres__xp_analyze_table() -%}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- Redshift would otherwise take Postgres's version; it analyzes a table that CREATE TABLE AS
    made itself, and other tables in the background. -#}
{% macro redshift__xp_analyze_table() -%}
{%- endmacro %}

{#- Pre-hook for the models where Postgres estimates freshly aggregated rows at a handful and
    joins them by nested loop, for minutes or hours: the night's comparison of new day rows
    with the stored ones (int_subject_metric_recent_days), the replay of results over time
    (fct_variant_metric_daily_statistics) and the plan's subject sums
    (fct_plan_metric_statistics). Where a nested loop remains (a join to a one-row CTE),
    Postgres adds a fixed 10^10 to the plan's cost, which makes it compile the query (JIT): 2.3
    s for a statement that runs in 0.05 s. So JIT is off too. `set local` holds for the
    model's transaction only. -#}
{% macro xp_avoid_nested_loops() -%}
    {{ return(adapter.dispatch('xp_avoid_nested_loops', 'experiment_analysis')()) }}
{%- endmacro %}

{% macro default__xp_avoid_nested_loops() -%}
{%- endmacro %}

{% macro postgres__xp_avoid_nested_loops() -%}
    set local enable_nestloop = off; set local jit = off
{%- endmacro %}

{#- Redshift would otherwise take Postgres's version, and has no enable_nestloop to set. -#}
{% macro redshift__xp_avoid_nested_loops() -%}
{%- endmacro %}

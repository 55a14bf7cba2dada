{{ config(enabled=xp_enabled()) }}
{#- Each experiment has exactly one control variant in the statistics mart. -#}
select
    experiment_id,
    count(distinct case when is_control then variant_id end) as n_controls
from {{ ref('fct_variant_metric_statistics') }}
group by experiment_id
having count(distinct case when is_control then variant_id end) <> 1

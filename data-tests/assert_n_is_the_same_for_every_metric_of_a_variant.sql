{{ config(enabled=xp_enabled()) }}
{#- Every metric of an experiment is measured on the same analysed subjects, so a variant's
    n must not depend on the metric (the analysis step relies on it for the SRM check). -#}
select
    experiment_id,
    variant_id,
    min(n) as smallest_n,
    max(n) as largest_n
from {{ ref('fct_variant_metric_statistics') }}
group by experiment_id, variant_id
having min(n) <> max(n)

{#- A source's timestamp column as a plain timestamp of its UTC wall-clock time, whatever
    the column's type (read from the warehouse at compile time) and the session's time zone
    (README, input contract). Text that is not ISO 8601 stops the build, rather than turning
    into a null that drops the row. -#}
{% macro xp_utc_timestamp(relation, column) -%}
    {%- set data_type = xp_column_data_type(relation, column) -%}
    {{ return(adapter.dispatch('xp_utc_timestamp', 'experiment_analysis')(
        adapter.quote(column), data_type | lower if data_type else none,
        relation.identifier ~ '.' ~ column)) }}
{%- endmacro %}

{#- The type of a relation's column as the warehouse names it (dtype: data_type would turn
    DuckDB's VARCHAR into 'character varying(256)'); none while dbt parses (no connection
    then) or when the relation or the column does not exist. -#}
{% macro xp_column_data_type(relation, column) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for existing in adapter.get_columns_in_relation(relation)
            if existing.name | lower == column | lower -%}
        {{ return(existing.dtype) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{#- The ISO 8601 shapes accepted in text columns, as regular expressions that DuckDB (RE2),
    Postgres and Spark (Java) read alike: no backslashes, which Spark literals would eat. -#}
{% macro xp_iso_timestamp_pattern(with_offset) -%}
    {%- set date = '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])' -%}
    {%- set time = '[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,9})?)?' -%}
    {%- if with_offset -%}
        {{ return('^' ~ date ~ time ~ '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$') }}
    {%- else -%}
        {{ return('^' ~ date ~ '(' ~ time ~ ')?$') }}
    {%- endif -%}
{%- endmacro %}

{#- Text parsed by the engine's casts: `with_offset` for text ending in an offset, `naive`
    for text without one, `fail` for any other shape. -#}
{% macro xp_parse_timestamp_text(column, with_offset, naive, fail) -%}
    case
        when {{ column }} is null then null
        when {{ xp_text_matches(column, xp_iso_timestamp_pattern(true)) }} then {{ with_offset }}
        when {{ xp_text_matches(column, xp_iso_timestamp_pattern(false)) }} then {{ naive }}
        else {{ fail }}
    end
{%- endmacro %}

{#- Whether text matches a regular expression in full: each engine spells it its own way. -#}
{% macro xp_text_matches(column, pattern) -%}
    {{ return(adapter.dispatch('xp_text_matches', 'experiment_analysis')(column, pattern)) }}
{%- endmacro %}

{% macro default__xp_text_matches(column, pattern) -%}
    regexp_full_match({{ column }}, {{ xp_string_literal(pattern) }})
{%- endmacro %}

{% macro postgres__xp_text_matches(column, pattern) -%}
    {{ column }} ~ {{ xp_string_literal(pattern) }}
{%- endmacro %}

{% macro spark__xp_text_matches(column, pattern) -%}
    {{ column }} rlike {{ xp_string_literal(pattern) }}
{%- endmacro %}

{#- Snowflake's REGEXP_LIKE matches the whole text (it anchors the pattern itself). -#}
{% macro snowflake__xp_text_matches(column, pattern) -%}
    regexp_like({{ column }}, {{ xp_string_literal(pattern) }})
{%- endmacro %}

{#- BigQuery's REGEXP_CONTAINS finds the pattern anywhere: the patterns' ^ and $ anchor it. -#}
{% macro bigquery__xp_text_matches(column, pattern) -%}
    regexp_contains({{ column }}, {{ xp_string_literal(pattern) }})
{%- endmacro %}

{#- The error message of an unparseable value, as SQL text ending in the value itself (a
    constant message would be raised once at planning time, for every row). -#}
{% macro xp_unparseable_timestamp_message(column, column_name) -%}
    {{ xp_string_literal('xp: ' ~ column_name ~ ' is not an ISO 8601 timestamp '
                         ~ "('YYYY-MM-DD HH:MM:SS', optionally with Z or +HH:MM): ") }}
    || {{ column }}
{%- endmacro %}

{#- Engines not checked here: a plain cast, as before, which may read a time-zone-aware value
    in the session's time zone. -#}
{% macro default__xp_utc_timestamp(column, data_type, column_name) -%}
    cast({{ column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- DuckDB casts TIMESTAMPTZ to TIMESTAMP in the session's TimeZone, and its TIMESTAMP cast of
    text drops an offset: timezone('UTC', ...) gives the UTC wall clock instead. try_cast
    turns a date that does not exist (2026-02-30) into null, which raises (coalesce evaluates its
    second argument only where the first is null). -#}
{% macro duckdb__xp_utc_timestamp(column, data_type, column_name) -%}
    {%- if data_type in ['timestamp with time zone', 'timestamptz'] -%}
        timezone('UTC', {{ column }})
    {%- elif data_type in ['varchar', 'text', 'string']
             or (data_type or '').startswith(('varchar', 'character')) -%}
        {%- set parsed = xp_parse_timestamp_text(
            column,
            "timezone('UTC', try_cast(" ~ column ~ ' as timestamptz))',
            'try_cast(' ~ column ~ ' as timestamp)',
            'null') -%}
        coalesce(
            {{ parsed }},
            case when {{ column }} is not null
                then error({{ xp_unparseable_timestamp_message(column, column_name) }}) end
        )
    {%- else -%}
        cast({{ column }} as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- Postgres casts timestamptz to timestamp in the session's TimeZone, and its timestamp cast of
    text ignores an offset: `at time zone 'UTC'` gives the UTC wall clock instead. It has no
    function that raises, so a failing cast of the message to timestamp raises it. -#}
{% macro postgres__xp_utc_timestamp(column, data_type, column_name) -%}
    {%- if data_type == 'timestamp with time zone' -%}
        ({{ column }} at time zone 'UTC')
    {%- elif data_type in ['text', 'character varying', 'character', 'varchar', 'bpchar']
             or (data_type or '').startswith('character') -%}
        {{ xp_parse_timestamp_text(
            column,
            '(cast(' ~ column ~ " as timestamptz) at time zone 'UTC')",
            'cast(' ~ column ~ ' as timestamp)',
            'cast(' ~ xp_unparseable_timestamp_message(column, column_name) ~ ' as timestamp)') }}
    {%- else -%}
        cast({{ column }} as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- Spark's TIMESTAMP is an instant shown in the session's time zone, which profiles.yml sets
    to UTC (spark.sql.session.timeZone): every model relies on it, so a session in another zone
    stops the build here. TIMESTAMP_NTZ and offset-less text are then read as UTC; the
    timestamp cast of text applies an offset; try_cast gives null for a date that does not
    exist, which raises as on DuckDB. -#}
{% macro spark__xp_utc_timestamp(column, data_type, column_name) -%}
    {%- do xp_require_utc_spark_session() -%}
    {%- if data_type in ['timestamp', 'timestamp_ltz'] -%}
        {{ column }}
    {%- elif data_type == 'string' or (data_type or '').startswith('varchar')
             or (data_type or '').startswith('char') -%}
        {%- set parsed = xp_parse_timestamp_text(
            column,
            'try_cast(' ~ column ~ ' as timestamp)',
            'try_cast(' ~ column ~ ' as timestamp)',
            'null') -%}
        coalesce(
            {{ parsed }},
            case when {{ column }} is not null
                then raise_error({{ xp_unparseable_timestamp_message(column, column_name) }}) end
        )
    {%- else -%}
        cast({{ column }} as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- Snowflake's TIMESTAMP_TZ and TIMESTAMP_LTZ become the UTC wall clock through
    CONVERT_TIMEZONE, and every other type is cast to TIMESTAMP_NTZ, the type the models'
    `timestamp` names under Snowflake's default TIMESTAMP_TYPE_MAPPING. Text is not read here
    yet: reading it needs a parse of ISO 8601 offsets that no one has run on Snowflake. -#}
{% macro snowflake__xp_utc_timestamp(column, data_type, column_name) -%}
    {%- if (data_type or '').startswith(('timestamp_tz', 'timestamp_ltz')) -%}
        cast(convert_timezone('UTC', {{ column }}) as timestamp_ntz)
    {%- elif (data_type or '').startswith(('varchar', 'text', 'string', 'char')) -%}
        {{ xp_untested_text_timestamp(column_name) }}
    {%- else -%}
        cast({{ column }} as timestamp_ntz)
    {%- endif -%}
{%- endmacro %}

{#- BigQuery's TIMESTAMP is an instant, which the models compare and cast to dates in UTC;
    a DATETIME or DATE cast to TIMESTAMP is read as UTC. Text is not read here yet, as on
    Snowflake. -#}
{% macro bigquery__xp_utc_timestamp(column, data_type, column_name) -%}
    {%- if (data_type or '') == 'string' -%}
        {{ xp_untested_text_timestamp(column_name) }}
    {%- else -%}
        cast({{ column }} as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- Stops the build at a text timestamp column where no text parse is provided. -#}
{% macro xp_untested_text_timestamp(column_name) -%}
    {{ exceptions.raise_compiler_error(
        "xp: " ~ column_name ~ " holds text; on " ~ target.type ~ " the timestamp columns must "
        ~ "have a timestamp type (text is read on DuckDB, Postgres and Spark): cast it in a view "
        ~ "and point the source at the view (docs/engines.md)") }}
{%- endmacro %}

{% macro xp_require_utc_spark_session() -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set zone = run_query('select current_timezone()').columns[0].values()[0] -%}
    {%- if zone not in ['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Z', '+00:00', 'UCT', 'Etc/UCT'] -%}
        {{ exceptions.raise_compiler_error(
            "The Spark session's time zone is '" ~ zone ~ "'; the models need UTC: set "
            ~ "spark.sql.session.timeZone: UTC under server_side_parameters in the dbt "
            ~ "profile (profiles.yml)") }}
    {%- endif -%}
{%- endmacro %}

{#- The current time as a plain UTC timestamp, whatever the session's time zone. -#}
{% macro xp_utc_now() -%}
    {{ return(adapter.dispatch('xp_utc_now', 'experiment_analysis')()) }}
{%- endmacro %}

{#- current_timestamp is time-zone aware on DuckDB and Postgres; a cast would take the
    session's wall clock. -#}
{% macro default__xp_utc_now() -%}
    (current_timestamp at time zone 'UTC')
{%- endmacro %}

{#- Shown in the session's time zone, UTC (see spark__xp_utc_timestamp). -#}
{% macro spark__xp_utc_now() -%}
    current_timestamp()
{%- endmacro %}

{#- Snowflake's SYSDATE is the current time in UTC, as a TIMESTAMP_NTZ. -#}
{% macro snowflake__xp_utc_now() -%}
    sysdate()
{%- endmacro %}

{#- BigQuery's CURRENT_TIMESTAMP is an instant, compared in UTC like every TIMESTAMP. -#}
{% macro bigquery__xp_utc_now() -%}
    current_timestamp()
{%- endmacro %}

{#- Redshift's GETDATE is the current time in the session's time zone, UTC unless the session
    sets another; dbt-redshift takes it for the current UTC time too. -#}
{% macro redshift__xp_utc_now() -%}
    getdate()
{%- endmacro %}

r"""Write assignment and event tables at scale, deterministically, as Parquet files.

    python scripts/generate_scale_data.py --events 10_000_000 --subjects 1_000_000 \
        --experiments 5 --out-dir /tmp/xp-scale

Pseudo-random numbers come from DuckDB's ``hash(i * 16 + salt)``: fast and deterministic,
where a multi-argument hash gives correlated streams. The shape is the benchmark data set
of docs/benchmarks.md: every subject is in one experiment (round robin), 10% of subjects
have a duplicate exposure row, 5 event names with skewed frequencies, per-subject activity
with a long tail, events over 74 days with exposures between days 30 and 44 (so windows and
the pre-exposure lookback both have data), values on purchase events only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

EVENT_NAMES = ("page_view", "session_start", "add_to_cart", "purchase", "support_ticket")
START = "2026-01-01 00:00:00"


def _uniform(expression: str, salt: int) -> str:
    """A deterministic uniform number in [0, 1) from an integer expression."""
    return f"(hash(({expression}) * 16 + {salt}) % 1000000007) / 1000000007.0"


def generate(
    out_dir: Path, events: int, subjects: int, experiments: int, threads: int = 2
) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    connection.execute(f"set threads = {threads}")
    connection.execute(f"""
        copy (
            with subjects as (
                select
                    i as subject_number,
                    'u' || i as subject_id,
                    'exp_' || (i % {experiments}) as experiment_id,
                    case when {_uniform("i", 1)} < 0.5 then 'control' else 'treatment' end
                        as variant_id,
                    timestamp '{START}' + to_seconds(cast(
                        (30 + {_uniform("i", 2)} * 14) * 86400 as bigint)) as assigned_at
                from range({subjects}) as t(i)
            )
            select subject_id, experiment_id, variant_id, assigned_at from subjects
            union all
            select subject_id, experiment_id, variant_id,
                   assigned_at + to_seconds(cast({_uniform("subject_number", 3)} * 86400 * 3
                                                 as bigint))
            from subjects
            where {_uniform("subject_number", 4)} < 0.10
        ) to '{out_dir / "assignments.parquet"}' (format parquet)
    """)
    # Events: subject chosen with a skew (squared uniform: heavy users), name by frequency.
    connection.execute(f"""
        copy (
            with draws as (
                select
                    i,
                    cast(floor(pow({_uniform("i", 5)}, 2) * {subjects}) as bigint)
                        as subject_number,
                    {_uniform("i", 6)} as name_draw,
                    {_uniform("i", 7)} as time_draw,
                    {_uniform("i", 8)} as value_draw
                from range({events}) as t(i)
            )
            select
                'u' || subject_number as subject_id,
                case
                    when name_draw < 0.45 then '{EVENT_NAMES[0]}'
                    when name_draw < 0.75 then '{EVENT_NAMES[1]}'
                    when name_draw < 0.90 then '{EVENT_NAMES[2]}'
                    when name_draw < 0.97 then '{EVENT_NAMES[3]}'
                    else '{EVENT_NAMES[4]}'
                end as event_name,
                timestamp '{START}' + to_seconds(cast(time_draw * 74 * 86400 as bigint))
                    as event_at,
                case when name_draw >= 0.90 and name_draw < 0.97
                     then round(5 + value_draw * 95, 2) end as value
            from draws
        ) to '{out_dir / "events.parquet"}' (format parquet)
    """)
    counts = {
        "assignment_rows": connection.execute(
            f"select count(*) from '{out_dir / 'assignments.parquet'}'"
        ).fetchone()[0],
        "events": connection.execute(
            f"select count(*) from '{out_dir / 'events.parquet'}'"
        ).fetchone()[0],
        "subjects": subjects,
        "experiments": experiments,
    }
    connection.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--experiments", type=int, default=5)
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/xp-scale"))
    args = parser.parse_args()
    print(generate(args.out_dir, args.events, args.subjects, args.experiments))


if __name__ == "__main__":
    main()

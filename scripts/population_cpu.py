"""CPU per generated person of the population generator (jukinet.population.encode_chunk), no database.

    python scripts/population_cpu.py [--persons 20000] [--repeats 5] [--history-per-person 1] [--profile]

Generates `--persons` residents of Yamaguchi (prefecture 35, its real sender municipalities from
fixtures/) in chunks of 5,000, `--repeats` times in this process, and prints the process CPU time per person
(min and median: the machine is shared, so the minimum is the figure to compare) and rows per person. The
first chunk (pools: names, addresses, dates) is timed apart. `--profile` prints cProfile's top functions
of one more pass. A development aid for bench/load_population.py's generator share, not a benchmark.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jukinet.settings.base")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--history-per-person", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    import django

    django.setup()
    from jukinet.population import PopulationSpec, encode_chunk
    from jukinet.reference import designated_city_codes, municipality_rows

    rows, cities_with_wards = municipality_rows(), designated_city_codes()
    senders = [r for r in rows if r.code not in cities_with_wards]
    spec = PopulationSpec(
        prefecture_code="35",
        prefecture_name=next(r.prefecture_name for r in rows if r.prefecture_code == "35"),
        municipalities=tuple((r.code, r.name) for r in senders if r.prefecture_code == "35"),
        elsewhere=tuple((r.code, f"{r.prefecture_name}{r.name}") for r in senders if r.prefecture_code != "35"),
        residents=args.persons,
        history_per_person=args.history_per_person,
    )
    started = time.process_time()
    encode_chunk(spec, 0)
    first = time.process_time() - started
    per_person, generated = [], 0
    for _ in range(args.repeats):
        started, generated = time.process_time(), 0
        for chunk in range(spec.chunks):
            generated += sum(encode_chunk(spec, chunk).rows.values())
        per_person.append((time.process_time() - started) / args.persons * 1e6)
    per_person.sort()
    print(
        f"{args.persons:,} persons × {args.repeats}: {per_person[0]:.1f} µs CPU per person (min), "
        f"{per_person[len(per_person) // 2]:.1f} (median); {generated / args.persons:.2f} rows per person; "
        f"first chunk with the pools {first:.2f} s"
    )
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for chunk in range(spec.chunks):
            encode_chunk(spec, chunk)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()

"""Run the benchmarks of issues 3 and 10 in one process, against one embedded Redis, and sum up.

Prints each benchmark's table, then one summary table of the issue's goals, and writes
everything (with the machine's description) to ``bench/results/latest.json``.

Run: ``.venv/bin/python -m bench.run_all [--quick]``; ``--quick`` shrinks every size for a
smoke run (its figures are not the ones to publish).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import api_reads, cached_rerun, engine_throughput, io_bound, live_progress, scaling
from bench.environment import BenchEnvironment, environment_description, now
from bench.report import print_table, save


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition: a smoke run")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the throughput and re-run figures")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    started = now()
    with BenchEnvironment() as env:
        machine = environment_description(env)
        print("Environment: " + ", ".join(f"{key} {value}" for key, value in machine.items()))
        results: dict[str, Any] = {"environment": machine, "quick": args.quick}
        if args.quick:
            results["engine_throughput"] = engine_throughput.run(env, count=100, fork_count=20, repeat=repeat)
            results["cached_rerun"] = cached_rerun.run(env, repeat=repeat)
            results["scaling"] = scaling.run(env, sizes=(20, 60))
            results["fan_scaling"] = scaling.run(env, sizes=(20, 60), shapes=("fan",))
            results["io_bound"] = io_bound.run(env, steps=32, concurrency=8, latency=0.5, repeat=repeat)
            results["live_progress"] = live_progress.run(env, clients=20, runs=4)
            results["api_reads"] = api_reads.run(env, seconds=2.0)
        else:
            results["engine_throughput"] = engine_throughput.run(env, repeat=repeat)
            results["cached_rerun"] = cached_rerun.run(env, repeat=repeat)
            results["scaling"] = scaling.run(env)
            results["fan_scaling"] = scaling.run(env, sizes=(1000, 10000), shapes=("fan",))
            results["io_bound"] = io_bound.run(env, repeat=repeat)
            results["live_progress"] = live_progress.run(env)
            results["api_reads"] = api_reads.run(env)
    names = ("engine_throughput", "cached_rerun", "scaling", "fan_scaling", "io_bound", "live_progress", "api_reads")
    summary = [row for name in names for row in results[name]["summary"]]
    for row in summary:
        row["met"] = "yes" if row["met"] else "NO"
    print_table("Goals (issues 3 and 10)", summary, ["metric", "value", "goal", "met"])
    results["summary"] = summary
    results["duration_s"] = now() - started
    print(f"\nresults: {save('latest', results)}  ({results['duration_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

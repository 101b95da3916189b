"""How a run's time grows from 100 to 1,000 steps (issue 3) and a ``for_each`` from 1,000
to 10,000 items (issue 10), at most ~linearly.

Two shapes of ``test.noop`` steps (``cache: off``), each at 100, 300 and 1,000 steps, run
end to end: ``RunService.start`` plus one ``AppSimpleWorker`` draining the queue in burst
mode until the run has completed.

* **chain**: each step needs the one before it (no two steps ever run at once, every
  finish plans the next step);
* **wide**: one root step, then ``N - 2`` steps that each need only the root, then one
  join step that needs all of them (the fan-in counter is decremented ``N - 2`` times);
* **fan**: one step with ``for_each`` over ``N`` items (``--shapes fan --sizes 1000,10000``);
  the peak memory of planning it is printed (tracemalloc around ``RunService.start``).

Per-step time is the run's wall time divided by its steps; linear growth keeps it flat,
so the 1,000-step / 100-step ratio of per-step time should stay near 1 (we flag > 1.5).

Run: ``.venv/bin/python -m bench.scaling [--sizes 100,300,1000] [--shapes chain,wide]``
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import (
    BenchDatabase,
    BenchEnvironment,
    environment_description,
    now,
)
from bench.report import print_table, save

LINEAR_ENOUGH = 1.5
FAN_LINEAR_ENOUGH = 1.3  # issue 10: a 10,000-item for_each against a 1,000-item one
WARM_UP = 20


def _step(index: int, needs: list[str]) -> str:
    text = f'  - id: s{index:04d}\n    skill: test.noop\n    cache: "off"\n'
    if needs:
        text += "    needs: [" + ", ".join(needs) + "]\n"
    return text


def chain_workflow(name: str, size: int) -> str:
    """``size`` no-op steps, each needing the previous one."""
    steps = "".join(_step(index, [f"s{index - 1:04d}"] if index else []) for index in range(size))
    return f'name: {name}\nversion: "1"\nsteps:\n{steps}'


def wide_workflow(name: str, size: int) -> str:
    """A root, ``size - 2`` parallel steps that need it, and a join that needs them all."""
    middle = list(range(1, size - 1))
    steps = _step(0, []) + "".join(_step(index, ["s0000"]) for index in middle)
    steps += _step(size - 1, [f"s{index:04d}" for index in middle])
    return f'name: {name}\nversion: "1"\nsteps:\n{steps}'


def fan_workflow(name: str, size: int) -> str:
    """One no-op step fanned out over ``size`` items by ``for_each`` (issue 10's 10,000-step
    run): the planner makes ``size`` children at once and their parent gathers them."""
    return (f'name: {name}\nversion: "1"\ninputs:\n  items: {{type: list, required: true}}\n'
            'steps:\n  - id: each\n    skill: test.noop\n    for_each: "{{ inputs.items }}"\n'
            '    cache: "off"\n    with:\n      n: "{{ item }}"\n')


def inputs_of(shape: str, size: int) -> dict[str, Any]:
    return {"items": list(range(size))} if shape == "fan" else {}


SHAPES = {"chain": chain_workflow, "wide": wide_workflow, "fan": fan_workflow}


def measure(bench_db: BenchDatabase, workflow: str, size: int, inputs: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    bench_db.environment.redis_client().flushdb()
    started = now()
    run_id = bench_db.start(workflow, inputs)
    submitted = now()
    jobs = bench_db.drain("simple")
    ended = now()
    summary = bench_db.require_completed(run_id, workflow)
    if summary["attempts"] != size:
        raise RuntimeError(f"{workflow}: {summary['attempts']} attempts for {size} steps")
    total = ended - started
    return {"steps": size, "jobs": jobs, "start_s": submitted - started, "drain_s": ended - submitted,
            "total_s": total, "ms_per_step": 1000 * total / size}


def planning_peak_mb(bench_db: BenchDatabase, workflow: str, inputs: dict[str, Any]) -> float:
    """Peak Python memory of starting (planning and enqueueing) one more run of ``workflow``,
    apart from the timed runs, since tracing memory slows what it traces."""
    tracemalloc.start()
    try:
        bench_db.start(workflow, inputs)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    bench_db.environment.redis_client().flushdb()  # that run is never worked
    return peak / 2**20


def run(env: BenchEnvironment, sizes: tuple[int, ...] = (100, 300, 1000),
        shapes: tuple[str, ...] = ("chain", "wide")) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    for kind in env.kinds:
        with env.database(kind) as bench_db:
            for shape in shapes:
                build = SHAPES[shape]
                warm = bench_db.upload(build(f"bench-{shape}-warm", WARM_UP))
                measure(bench_db, warm, WARM_UP, inputs_of(shape, WARM_UP))  # warm up once
                found = []
                for size in sizes:
                    workflow = bench_db.upload(build(f"bench-{shape}-{size}", size))
                    row = {"database": kind, "shape": shape,
                           **measure(bench_db, workflow, size, inputs_of(shape, size))}
                    if shape == "fan":
                        row["plan_peak_mb"] = planning_peak_mb(bench_db, workflow, inputs_of(shape, size))
                    found.append(row)
                smallest = found[0]["ms_per_step"]
                for row in found:
                    row["per_step_vs_smallest"] = row["ms_per_step"] / smallest
                rows += found
                growth = found[-1]["per_step_vs_smallest"]
                limit = FAN_LINEAR_ENOUGH if shape == "fan" else LINEAR_ENOUGH
                summary.append({"metric": f"{shape} of {sizes[-1]} / {sizes[0]} steps: per-step time ratio ({kind})",
                                "value": growth, "goal": f"<= {limit} (linear = 1)", "met": growth <= limit})
    print_table("Run time by workflow size (cache off, one simple worker)", rows,
                ["database", "shape", "steps", "start_s", "drain_s", "total_s", "ms_per_step", "per_step_vs_smallest",
                 "plan_peak_mb"])
    return {"rows": rows, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,300,1000", help="comma-separated step counts, smallest first")
    parser.add_argument("--shapes", default="chain,wide", help=f"comma-separated, of {', '.join(SHAPES)}")
    args = parser.parse_args(argv)
    sizes = tuple(int(size) for size in args.sizes.split(","))
    shapes = tuple(shape.strip() for shape in args.shapes.split(","))
    with BenchEnvironment() as env:
        data = {"environment": environment_description(env), "scaling": run(env, sizes, shapes)}
    print(f"\nresults: {save('scaling', data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

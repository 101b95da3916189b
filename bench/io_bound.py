"""Many model calls per worker (issue 10): ONE ``threads`` worker against a slow model.

In one process, against one embedded Redis and a loopback server speaking the OpenAI
chat-completions protocol that answers every request after ``latency`` seconds (the real
``openai`` provider, metering and all, over real HTTP; the server runs in a process of its
own, as a model server would, so it takes no time from the worker measured):

* a run of ``steps`` independent ``text.generate`` steps (cache off) is drained by one
  ``threads`` worker with ``concurrency`` threads, in this process → steps/s;
* **the bound** is what ``concurrency`` calls in flight at ``latency`` s each can give:
  ``concurrency / latency`` steps/s; the figure is the ratio to it (goal ≥ 0.85);
* memory: this process's peak RSS after the drain (an upper bound of the worker's: it also
  holds the bench, the server and the submitting app); beside it, the peak RSS of one
  ``python worker.py`` simple worker that ran a few of the same steps, times
  ``concurrency`` — the processes that one-job-at-a-time workers need for the same calls
  in flight (one is measured; the 64 are not started on a 2-core machine).

Run: ``.venv/bin/python -m bench.io_bound [--steps 256] [--concurrency 64] [--latency 1.0]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import BenchDatabase, BenchEnvironment, environment_description, now
from bench.report import median, print_table, save

ROOT = Path(__file__).resolve().parent.parent
MODEL = "openai:gpt-4o-mini"
PLATFORM_KEY = "sk-bench-platform-key-0000"
SIMPLE_WORKER_STEPS = 4


def generate_workflow(name: str, count: int) -> str:
    steps = "".join(f'  - id: g{index:04d}\n    skill: text.generate\n    cache: "off"\n'
                    f'    with: {{prompt: "Line {index} about tides", model: "{MODEL}"}}\n' for index in range(count))
    return f'name: {name}\nversion: "1"\nsteps:\n{steps}'


def grant_credits(bench_db: BenchDatabase, tokens: int) -> None:
    with bench_db.context() as (repos, _state, _service):
        with repos.transaction():
            repos.credit_accounts.grant_bonus(bench_db.user_id, tokens)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def simple_worker_rss_mb(bench_db: BenchDatabase, server_url: str) -> float:
    """Peak RSS of one ``python worker.py`` (simple) that ran a few of the same steps."""
    run_id = bench_db.start(bench_db.upload(generate_workflow("io-simple-rss", SIMPLE_WORKER_STEPS)))
    environment = bench_db.process_environment(OPENAI_BASE_URL=server_url, OPENAI_API_KEY=PLATFORM_KEY)
    process = subprocess.Popen([sys.executable, "worker.py", "--burst", "--class", "simple"], cwd=ROOT,
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # The child's own peak (VmHWM starts again at exec; ru_maxrss of a child would count the
    # bench's memory it was forked from), read until it exits.
    peak_kib = 0
    while process.poll() is None:
        peak_kib = max(peak_kib, _high_water_kib(process.pid))
        time.sleep(0.05)
    if process.returncode != 0:
        raise RuntimeError(f"the simple worker failed: {process.stderr.read().decode()[-2000:]}")
    bench_db.require_completed(run_id, "simple worker RSS run")
    return peak_kib / 1024


def _high_water_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass  # it just exited
    return 0


@contextmanager
def model_server(latency: float) -> Iterator[str]:
    """``python -m app.chat_server`` in its own process; yields its URL."""
    process = subprocess.Popen([sys.executable, "-m", "app.chat_server", "--delay", str(latency)], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield process.stdout.readline().strip()
    finally:
        process.stdin.close()
        process.wait(timeout=10)


def measure(env: BenchEnvironment, kind: str, steps: int, concurrency: int, latency: float,
            repeat: int) -> dict[str, Any]:
    with model_server(latency) as url:
        with env.database(kind, OPENAI_BASE_URL=url, OPENAI_API_KEY=PLATFORM_KEY, PROVIDER_MAX_RETRIES=0,
                          PROVIDER_TIMEOUT=max(30.0, latency * 10), WORKER_CONCURRENCY=concurrency) as bench_db:
            grant_credits(bench_db, tokens=10_000_000)  # every call reserves tokens before it is sent
            workflow = bench_db.upload(generate_workflow("io-bound", steps))
            warm = bench_db.upload(generate_workflow("io-warm", concurrency))
            bench_db.start(warm)
            bench_db.drain("threads", concurrency)
            samples = []
            for _ in range(repeat):
                env.redis_client().flushdb()
                run_id = bench_db.start(workflow)
                started = now()
                bench_db.drain("threads", concurrency)
                samples.append(now() - started)
                bench_db.require_completed(run_id, "io-bound run")
            rss = peak_rss_mb()
            simple_rss = simple_worker_rss_mb(bench_db, url)
    best = min(samples)
    bound = concurrency / latency
    return {"database": kind, "steps": steps, "concurrency": concurrency, "latency_s": latency,
            "drain_s": best, "median_drain_s": median(samples), "per_s": steps / best, "bound_per_s": bound,
            "ratio": steps / best / bound, "worker_rss_mb": rss, "simple_worker_rss_mb": simple_rss,
            "simple_workers_rss_mb": simple_rss * concurrency}


def run(env: BenchEnvironment, steps: int = 256, concurrency: int = 64, latency: float = 1.0,
        repeat: int = 3) -> dict[str, Any]:
    rows = [measure(env, kind, steps, concurrency, latency, repeat) for kind in env.kinds]
    print_table(f"One threads worker against a model answering in {latency:g} s (best of {repeat})", rows,
                ["database", "steps", "concurrency", "latency_s", "drain_s", "median_drain_s", "per_s",
                 "bound_per_s", "ratio", "worker_rss_mb", "simple_worker_rss_mb", "simple_workers_rss_mb"])
    summary = []
    for row in rows:
        summary.append({"metric": f"threads worker steps/s / bound {row['concurrency']}/{row['latency_s']:g}s "
                                  f"({row['database']})", "value": row["ratio"], "goal": ">= 0.85",
                        "met": row["ratio"] >= 0.85})
        summary.append({"metric": f"threads worker peak RSS MB, upper bound ({row['database']})",
                        "value": row["worker_rss_mb"], "goal": "<= 300", "met": row["worker_rss_mb"] <= 300})
    return {"rows": rows, "summary": summary, "repeat": repeat}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with BenchEnvironment() as env:
        print("Environment: " + ", ".join(f"{k} {v}" for k, v in environment_description(env).items()))
        result = run(env, args.steps, args.concurrency, args.latency, args.repeat)
        save("io_bound", {"environment": environment_description(env), **result})
        print_table("Issue 10 goals", result["summary"], ["metric", "value", "goal", "met"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

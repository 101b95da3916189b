"""Webhook fan-out (issue 14): ONE event to N subscribed endpoints on ONE ``threads`` worker.

In one process, against one embedded Redis and a loopback receiver that answers every POST
after ``latency`` seconds (``python -m app.webhooks.receiver``, in a process of its own, so
it takes no time from the worker measured):

* the tenant has ``endpoints`` webhooks, all subscribed to ``run.completed``; one such
  event is published and committed, as the engine publishes it, and one ``threads`` worker
  with ``concurrency`` threads drains the queue in this process: the event's background
  delivery (``app.webhooks.jobs.fan_out_event``) fans out into one signed delivery per webhook, each
  an RQ job → the time from the commit to the last delivery recorded ``delivered``;
* **the bound**: every delivery within 2 × (endpoints × latency / concurrency);
* **the baseline**: the same N signed POSTs to the same receiver made by a bare loop of
  ``requests.post``, one after another, in the same run; the figure is the ratio of the
  deliveries' throughput to the loop's;
* **the worker's floor**: the same worker draining N jobs that only sleep ``latency`` (no
  HTTP, no database) — what RQ and the threads worker cost by themselves, which no
  delivery can go below; ``over_floor`` is the fan-out's time over it.

Run: ``.venv/bin/python -m bench.webhook_fanout [--endpoints 100] [--concurrency 8] [--latency 0.05]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
from sqlalchemy import func, select

from bench.environment import BenchDatabase, BenchEnvironment, environment_description, now
from bench.report import median, print_table, save

ROOT = Path(__file__).resolve().parent.parent
EVENT = "run.completed"


@contextmanager
def receiver_process(latency: float) -> Iterator[str]:
    """``python -m app.webhooks.receiver`` in its own process; yields its URL."""
    process = subprocess.Popen([sys.executable, "-m", "app.webhooks.receiver", "--delay", str(latency)], cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield process.stdout.readline().strip()
    finally:
        process.stdin.close()
        process.wait(timeout=10)


def subscribe(bench_db: BenchDatabase, url: str, endpoints: int) -> None:
    """``endpoints`` webhooks of the bench tenant, each on its own path of the receiver."""
    from app.webhooks.service import WebhookService, webhook_runtime

    with bench_db.context() as (repos, state, service):
        hooks = WebhookService(repos, state, webhook_runtime(bench_db.app), service.principal)
        for index in range(endpoints):
            hooks.create(f"{url}/{index}", [EVENT], f"bench endpoint {index}")


def publish_event(bench_db: BenchDatabase) -> uuid.UUID:
    """Commit one ``run.completed`` of the bench tenant: its hand-on queues the fan-out."""
    from app.events import DomainEvent

    with bench_db.context() as (repos, _state, _service):
        run_id = str(uuid.uuid4())
        with repos.transaction() as tx:
            event = tx.publish(DomainEvent(EVENT, run_id, {"runId": run_id, "workflow": "bench", "durationMs": 1},
                                           tenant_id=bench_db.tenant_id))
        return event.id


def delivered(bench_db: BenchDatabase, event_id: uuid.UUID) -> dict[str, int]:
    from app.extensions import db
    from app.models import WebhookDelivery

    with bench_db.app.app_context():
        rows = db.session.execute(select(WebhookDelivery.status, func.count()).where(
            WebhookDelivery.event_id == event_id).group_by(WebhookDelivery.status)).all()
        db.session.remove()
    return {status.value: count for status, count in rows}


def wait(seconds: float) -> None:
    """The floor's job: only the receiver's latency, no HTTP, no database."""
    time.sleep(seconds)


def worker_floor(bench_db: BenchDatabase, endpoints: int, concurrency: int, latency: float) -> float:
    """Seconds the same threads worker takes for ``endpoints`` jobs that only wait ``latency``:
    what RQ and the worker cost by themselves, below any webhook work."""
    from app.runtime import current_state

    with bench_db.app.app_context():
        queue = current_state().queue()
        queue.enqueue_many([queue.prepare_data("bench.webhook_fanout.wait", args=(latency,))
                            for _ in range(endpoints)])
    started = now()
    drain(bench_db, concurrency)
    return now() - started


def drain(bench_db: BenchDatabase, concurrency: int) -> int:
    """One threads worker in burst mode until the queue is empty; how many jobs it ran.

    Without RQ's command listener, as the test fixture ``run_jobs`` does: stopping its
    pub/sub thread can hang a minute after the Redis it used was flushed.
    """
    from app.workers import build_worker

    worker = build_worker(bench_db.app, "threads", concurrency=concurrency)
    worker.listens_for_commands = False
    worker.work(burst=True, logging_level="WARNING")
    worker.refresh()
    return worker.successful_job_count + worker.failed_job_count


def bare_loop(url: str, endpoints: int) -> float:
    """The same signed POSTs, one after another, by ``requests``; seconds taken."""
    from app.webhooks.signing import new_secret, signature_header

    body = b'{"data":{"runId":"bench"},"type":"run.completed","version":1}'
    secret = new_secret()
    started = now()
    for index in range(endpoints):
        headers = {"Content-Type": "application/json", "Inkwright-Event": EVENT,
                   "Inkwright-Delivery": str(uuid.uuid4()),
                   "Inkwright-Signature": signature_header(body, secret, int(time.time()))}
        response = requests.post(f"{url}/{index}", data=body, headers=headers, timeout=(5, 10),
                                 allow_redirects=False)
        response.raise_for_status()
    return now() - started


def measure(env: BenchEnvironment, kind: str, endpoints: int, concurrency: int, latency: float,
            repeat: int) -> dict[str, Any]:
    with receiver_process(latency) as url:
        with env.database(kind, WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WORKER_CONCURRENCY=concurrency) as bench_db:
            subscribe(bench_db, url, endpoints)
            publish_event(bench_db)  # warm-up: imports, connections, compiled statements
            drain(bench_db, concurrency)
            samples, loops, floors = [], [], []
            for _ in range(repeat):
                env.redis_client().flushdb()  # as bench/io_bound.py: each drain starts on an empty Redis
                started = now()
                event_id = publish_event(bench_db)
                drain(bench_db, concurrency)
                samples.append(now() - started)
                counts = delivered(bench_db, event_id)
                if counts.get("delivered") != endpoints:
                    raise RuntimeError(f"the fan-out ended with {counts}, not {endpoints} delivered")
                loops.append(bare_loop(url, endpoints))
                env.redis_client().flushdb()
                floors.append(worker_floor(bench_db, endpoints, concurrency, latency))
    best, loop, floor = min(samples), min(loops), min(floors)
    bound = 2 * endpoints * latency / concurrency
    return {"database": kind, "endpoints": endpoints, "concurrency": concurrency, "latency_s": latency,
            "fanout_s": best, "median_fanout_s": median(samples), "bound_s": bound,
            "deliveries_per_s": endpoints / best, "bare_loop_s": loop, "bare_per_s": endpoints / loop,
            "ratio": loop / best, "worker_floor_s": floor, "over_floor": best / floor,
            "within_bound": best <= bound}


def run(env: BenchEnvironment, endpoints: int = 100, concurrency: int = 8, latency: float = 0.05,
        repeat: int = 3) -> dict[str, Any]:
    rows = [measure(env, kind, endpoints, concurrency, latency, repeat) for kind in env.kinds]
    print_table(f"One event to {endpoints} webhooks answering in {latency * 1000:g} ms, one threads worker "
                f"(best of {repeat})", rows,
                ["database", "endpoints", "concurrency", "fanout_s", "median_fanout_s", "bound_s",
                 "deliveries_per_s", "bare_loop_s", "bare_per_s", "ratio", "worker_floor_s", "over_floor",
                 "within_bound"])
    summary = [{"metric": f"fan-out of {row['endpoints']} at concurrency {row['concurrency']} ({row['database']}) s",
                "value": row["fanout_s"], "goal": f"<= {row['bound_s']:.3f}", "met": row["within_bound"]}
               for row in rows]
    summary += [{"metric": f"deliveries/s / bare loop's ({row['database']})", "value": row["ratio"],
                 "goal": "report", "met": True} for row in rows]
    return {"rows": rows, "summary": summary, "repeat": repeat}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with BenchEnvironment() as env:
        print("Environment: " + ", ".join(f"{k} {v}" for k, v in environment_description(env).items()))
        result = run(env, args.endpoints, args.concurrency, args.latency, args.repeat)
        save("webhook_fanout", {"environment": environment_description(env), **result})
        print_table("Issue 14 goals (webhooks)", result["summary"], ["metric", "value", "goal", "met"])
    return 0 if all(row["within_bound"] for row in result["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())

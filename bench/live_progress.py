"""Live progress at scale (issue 10): 200 SSE clients watching 20 live runs, one web process.

The web app serves ``GET /api/runs/<id>/events`` from this process (Werkzeug's threaded
server, a thread per connection, as gunicorn's ``gthread`` would); the clients run in a
second process (a thread each, reading the streams to their ``end`` event); one ``threads``
worker in a third process works the runs. Every client must receive every event its run's
stream holds, in order. Printed: the Redis connections the web process opened while the
clients watched (one reader for all of them, plus the pool the catch-up reads share),
the hub's ``XREAD`` calls, and this process's peak RSS (an upper bound of the web's: it
also holds the bench).

Run: ``.venv/bin/python -m bench.live_progress [--clients 200] [--runs 20]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import resource
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug.serving import make_server

from app.auth.api_keys import ApiKeyService
from app.auth.principal import current_principal
from app.engine.progress import RunEvents
from app.runtime import current_state
from bench.environment import BenchEnvironment, environment_description, now
from bench.report import print_table, save

ROOT = Path(__file__).resolve().parent.parent


def paced_workflow(steps: int, sleep: float) -> str:
    """A chain of ``steps`` echo steps of ``sleep`` seconds: a live run with a steady trickle."""
    lines = []
    for index in range(steps):
        after = f'"{{{{ steps.s{index - 1}.output.text }}}}+"' if index else '"start"'
        lines.append(f'  - id: s{index}\n    skill: test.echo\n    cache: "off"\n'
                     f'    with: {{text: {after}, sleep: {sleep}}}\n')
    return 'name: paced\nversion: "1"\nsteps:\n' + "".join(lines)


def watch_streams(base_url: str, token: str, run_ids: list[str], per_run: int) -> dict[str, list[list[str]]]:
    """Open ``per_run`` streams on each run, read each to its end; the event ids each saw."""
    target = urlparse(base_url)
    seen: dict[str, list[list[str]]] = {run_id: [] for run_id in run_ids}
    lock = threading.Lock()

    def read(run_id: str) -> None:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
        connection.request("GET", f"/api/runs/{run_id}/events?keepalive=5",
                           headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
        response = connection.getresponse()
        ids: list[str] = []
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("id: "):
                ids.append(line[4:])
            elif line == "event: end":
                break
        connection.close()
        with lock:
            seen[run_id].append(ids)

    threads = [threading.Thread(target=read, args=(run_id,)) for run_id in run_ids for _ in range(per_run)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen


def clients_main() -> int:
    """The client process: arguments as JSON on stdin, results as JSON on stdout."""
    asked = json.load(sys.stdin)
    json.dump(watch_streams(asked["url"], asked["token"], asked["runs"], asked["per_run"]), sys.stdout)
    return 0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(env: BenchEnvironment, clients: int, runs: int, steps: int, sleep: float) -> dict[str, Any]:
    per_run = clients // runs
    with env.database("sqlite") as bench_db:
        with bench_db.context() as (_repos, _state, _service):
            token = ApiKeyService(_repos, current_principal()).create("bench-live").secret
        workflow = bench_db.upload(paced_workflow(steps, sleep))
        run_ids = [str(bench_db.start(workflow)) for _ in range(runs)]
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
        server = make_server("127.0.0.1", 0, bench_db.app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        with bench_db.app.app_context():
            state = current_state()
            hub = state.progress_hub()
        redis_client = env.redis_client()
        connections_before = len(redis_client.client_list())

        watchers = subprocess.Popen([sys.executable, "-m", "bench.live_progress", "--clients-process"], cwd=ROOT,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        watchers.stdin.write(json.dumps({"url": url, "token": token, "runs": run_ids, "per_run": per_run}))
        watchers.stdin.close()
        deadline = time.monotonic() + 60
        while hub.watching < per_run * runs:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {hub.watching} of {per_run * runs} clients are watching")
            time.sleep(0.05)
        connections_watching = len(redis_client.client_list())
        reads_before = hub.reads

        worker = subprocess.Popen([sys.executable, "worker.py", "--burst", "--class", "threads",
                                   "--concurrency", str(runs)], cwd=ROOT, env=bench_db.process_environment(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started = now()
        output = watchers.stdout.read()
        watchers.wait(timeout=60)
        elapsed = now() - started
        worker.wait(timeout=120)
        seen = json.loads(output)
        server.shutdown()

        events = RunEvents(redis_client)
        complete = 0
        for run_id in run_ids:
            stored = [event_id for event_id, _kind, _data in events.replay(run_id)]
            complete += sum(1 for ids in seen[run_id] if ids == stored)
        for run_id in run_ids:
            bench_db.require_completed(uuid.UUID(run_id), "live run")
        total_events = sum(len(list(events.replay(run_id))) for run_id in run_ids)
    return {"clients": per_run * runs, "runs": runs, "events_per_run": total_events / runs, "watch_s": elapsed,
            "clients_with_every_event": complete, "redis_connections_added": connections_watching - connections_before,
            "hub_reads": hub.reads - reads_before, "web_rss_mb": peak_rss_mb()}


def run(env: BenchEnvironment, clients: int = 200, runs: int = 20, steps: int = 8, sleep: float = 0.25) -> dict[str, Any]:
    row = measure(env, clients, runs, steps, sleep)
    print_table(f"{row['clients']} SSE clients watching {row['runs']} live runs through one web process", [row],
                ["clients", "runs", "events_per_run", "watch_s", "clients_with_every_event",
                 "redis_connections_added", "hub_reads", "web_rss_mb"])
    summary = [{"metric": "SSE clients that received every event of their run", "value": row["clients_with_every_event"],
                "goal": f"= {row['clients']}", "met": row["clients_with_every_event"] == row["clients"]}]
    return {"rows": [row], "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--clients-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.clients_process:
        return clients_main()
    with BenchEnvironment() as env:
        print("Environment: " + ", ".join(f"{k} {v}" for k, v in environment_description(env).items()))
        result = run(env, args.clients, args.runs)
        save("live_progress", {"environment": environment_description(env), **result})
        print_table("Issue 10 goals", result["summary"], ["metric", "value", "goal", "met"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

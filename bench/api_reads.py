"""A fast read path (issue 10): ``GET /api/runs/<id>`` of a 50-step run under gunicorn.

In this process: a fresh database with a finished 50-step run (two candidates a step, an
artifact on every other), and an API key. Then, on loopback, under the same gunicorn
(``gthread``, 2 workers × 8 threads):

* **the engine**: ``GET /api/runs/<id>`` with the key — authentication, the tenant's run,
  its steps, the envelope, serialisation;
* **the baseline**: a bare Flask endpoint returning the very bytes the engine answered;

each loaded by 20 keep-alive connections from a second process for ``seconds`` seconds
(after a warm-up) → requests/s and p50/p99 latency. Goal: the engine ≥ 0.5× the baseline.

The load generator is ``wrk`` (Debian's ``wrk`` package) when it is installed: written in C,
it takes far less of a two-core machine from the servers it measures than a Python client,
which is the fallback (``--client python`` forces it).

Run: ``.venv/bin/python -m bench.api_reads [--seconds 10] [--connections 20]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.auth.api_keys import ApiKeyService
from app.auth.principal import current_principal
from bench.environment import BenchEnvironment, environment_description
from bench.report import print_table, save

ROOT = Path(__file__).resolve().parent.parent
STEPS = 50
GUNICORN = ["-k", "gthread", "-w", "2", "--threads", "8", "--log-level", "warning"]


def detailed_workflow(steps: int) -> str:
    artifact = ', artifact: "bytes of the step"'
    lines = "".join(f"  - id: s{index:02d}\n    skill: test.echo\n    candidates: 2\n"
                    f"    with: {{text: \"part {index} of the story\"{artifact if index % 2 else ''}}}\n"
                    for index in range(steps))
    return f'name: detailed\nversion: "1"\nsteps:\n{lines}'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(target: str, environment: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", *GUNICORN, "-b", f"127.0.0.1:{port}", target],
                               cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not listen in 30 s")


def load(port: int, path: str, token: str, connections: int, seconds: float) -> dict[str, Any]:
    """The load-generating process: keep-alive clients hammering ``path``."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                with lock:
                    errors[0] += 1
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    begun = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - begun
    latencies.sort()
    return {"requests": len(latencies), "errors": errors[0], "per_s": len(latencies) / elapsed,
            "p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)]}


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_latency_ms(text: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
    return float(value) * _WRK_UNITS[unit]


def load_with_wrk(port: int, path: str, token: str, connections: int, seconds: float) -> dict[str, Any]:
    """``wrk`` on one thread a core, ``connections`` keep-alive connections, latency percentiles."""
    threads = max(1, min(connections, 2))
    finished = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--latency",
                               "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}{path}"],
                              capture_output=True, text=True, timeout=seconds + 60)
    text = finished.stdout
    if finished.returncode != 0 or "Requests/sec" not in text:
        raise RuntimeError(f"wrk failed: {finished.stderr[-2000:]} {text[-2000:]}")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {"requests": int(re.search(r"(\d+) requests in", text).group(1)),
            "errors": (int(errors.group(1)) if errors else 0)
            + (sum(int(count) for count in socket_errors.groups()) if socket_errors else 0),
            "per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
            "p50_ms": wrk_latency_ms(text, "50"), "p99_ms": wrk_latency_ms(text, "99")}


def measure_under_load(port: int, path: str, token: str, connections: int, seconds: float,
                       client: str = "wrk") -> dict[str, Any]:
    asked = {"port": port, "path": path, "token": token, "connections": connections}
    if client == "wrk":
        load_with_wrk(port, path, token, connections, min(2.0, seconds))  # warm-up
        return load_with_wrk(port, path, token, connections, seconds)
    # A warm-up (imports, connection pools, compiled statements), then the figure.
    for duration in (min(2.0, seconds), seconds):
        finished = subprocess.run([sys.executable, "-m", "bench.api_reads", "--load-process"], cwd=ROOT,
                                  input=json.dumps({**asked, "seconds": duration}), capture_output=True, text=True,
                                  timeout=duration + 120)
        if finished.returncode != 0:
            raise RuntimeError(f"the load process failed: {finished.stderr[-2000:]}")
    return json.loads(finished.stdout)


def default_client() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def measure(env: BenchEnvironment, kind: str, connections: int, seconds: float, client: str) -> list[dict[str, Any]]:
    with env.database(kind) as bench_db:
        run_id = bench_db.start(bench_db.upload(detailed_workflow(STEPS)))
        bench_db.drain("simple")
        bench_db.require_completed(run_id, "detailed run")
        with bench_db.context() as (repos, _state, _service):
            token = ApiKeyService(repos, current_principal()).create("bench-reads").secret
        with bench_db.app.test_client() as client:
            answer = client.get(f"/api/runs/{run_id}", headers={"Authorization": f"Bearer {token}"})
        if answer.status_code != 200:
            raise RuntimeError(f"the run detail answered {answer.status_code}")
        body_file = bench_db.folder / "detail.json"
        body_file.write_bytes(answer.get_data())
        environment = bench_db.process_environment(BENCH_BODY=str(body_file))
        rows = []
        for label, target, path in (("bare Flask, same bytes", "bench.api_app:bare", "/bare"),
                                    ("GET /api/runs/<id>", "bench.api_app:inkwright", f"/api/runs/{run_id}")):
            process, port = serve(target, environment)
            try:
                result = measure_under_load(port, path, token, connections, seconds, client)
            finally:
                process.terminate()
                process.wait(timeout=10)
            rows.append({"database": kind, "what": label, "bytes": len(answer.get_data()), **result})
        rows[1]["ratio"] = rows[1]["per_s"] / rows[0]["per_s"]
        rows[0]["ratio"] = 1.0
        return rows


def run(env: BenchEnvironment, connections: int = 20, seconds: float = 10.0, client: str | None = None) -> dict[str, Any]:
    client = client or default_client()
    rows = [row for kind in env.kinds for row in measure(env, kind, connections, seconds, client)]
    print_table(f"Run detail of {STEPS} steps under gunicorn ({' '.join(GUNICORN)}), {connections} connections, "
                f"load from {client}",
                rows, ["database", "what", "bytes", "requests", "errors", "per_s", "p50_ms", "p99_ms", "ratio"])
    summary = [{"metric": f"GET /api/runs/<id> ({STEPS} steps) / bare Flask requests/s ({row['database']})",
                "value": row["ratio"], "goal": ">= 0.5", "met": row["ratio"] >= 0.5}
               for row in rows if row["what"].startswith("GET")]
    return {"rows": rows, "summary": summary, "client": client}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--client", choices=("wrk", "python"), default=None,
                        help="the load generator (default: wrk when installed, else a Python client)")
    parser.add_argument("--load-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_process:
        asked = json.load(sys.stdin)
        json.dump(load(asked["port"], asked["path"], asked["token"], asked["connections"], asked["seconds"]),
                  sys.stdout)
        return 0
    with BenchEnvironment() as env:
        print("Environment: " + ", ".join(f"{k} {v}" for k, v in environment_description(env).items()))
        result = run(env, args.connections, args.seconds, args.client)
        save("api_reads", {"environment": environment_description(env), **result})
        print_table("Issue 10 goals", result["summary"], ["metric", "value", "goal", "met"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

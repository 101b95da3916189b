"""What the audit log costs the API calls it records (issue 14: ≤ 10 % of their latency).

In this process: a fresh database, a registered writer signed in through ``/api/auth/login``
(a bearer token, as a client has), and the app's test client — the whole WSGI app, without
a server's socket time, which would only dilute the ratio. Three recorded calls:

* ``PATCH /api/account/preferences`` (``settings.update``, its before/after diffed),
* ``POST /api/api-keys`` (``api_key.create``),
* ``DELETE /api/api-keys/<id>`` (``api_key.revoke``, of keys made beforehand);

each timed with the audit write and without it, alternating call by call in the same run
(so drift in the machine, and other processes' load, fall on both sides alike). "Without" replaces :func:`app.audit.record`
with a function that writes nothing: the same request, the same service, the same
transaction, less the entry. Reported: median latency of each side, and their ratio.

Run: ``.venv/bin/python -m bench.audit_overhead [--calls 600] [--block 1]``
(``INKWRIGHT_BENCH_DATABASE_URL=postgresql://…`` adds PostgreSQL).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import audit
from app.runtime import repositories
from bench.environment import BenchEnvironment, environment_description
from bench.report import print_table, save

GOAL = 1.10


@contextmanager
def audit_written(written: bool) -> Iterator[None]:
    """With ``written`` false, every audit call in this process writes nothing."""
    recorder = audit.record
    if not written:
        audit.record = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        audit.record = recorder  # type: ignore[assignment]


class Bearer:
    """The app's test client sending an access token, as an API client does."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}", "User-Agent": "bench/1.0"}

    def __getattr__(self, method: str) -> Callable[..., Any]:
        return lambda path, **kwargs: getattr(self.client, method)(path, headers=self.headers, **kwargs)


def signed_in(app: Any) -> Bearer:
    with app.app_context():
        email = repositories().users.list(limit=1)[0].email
    client = app.test_client()
    response = client.post("/api/auth/login", json={"email": email, "password": "bench password 12345"})
    if response.status_code != 200:
        raise RuntimeError(f"sign-in failed: {response.get_data(as_text=True)[:500]}")
    return Bearer(client, response.json["data"]["session"]["token"])


def calls(client: Bearer, spare_keys: list[str]) -> dict[str, Callable[[int], Any]]:
    """Each recorded call, taking its index (so every call changes something)."""
    themes = ("dark", "light")
    return {
        "PATCH /api/account/preferences": lambda i: client.patch("/api/account/preferences",
                                                                 json={"theme": themes[i % 2]}),
        "POST /api/api-keys": lambda i: client.post("/api/api-keys", json={"name": f"bench {i}"}),
        "DELETE /api/api-keys/<id>": lambda i: client.delete(f"/api/api-keys/{spare_keys.pop()}"),
    }


def timed(call: Callable[[int], Any], index: int) -> float:
    started = time.perf_counter()
    response = call(index)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code >= 300:
        raise RuntimeError(f"the call answered {response.status_code}: {response.get_data(as_text=True)[:500]}")
    return elapsed


def measure(environment: BenchEnvironment, kind: str, count: int, block: int) -> list[dict[str, Any]]:
    with environment.database(kind) as bench_db:
        client = signed_in(bench_db.app)
        spare = [client.post("/api/api-keys", json={"name": f"spare {i}"}).json["data"]["id"]
                 for i in range(2 * count + 4 * max(block, 25))]
        rows = []
        for name, call in calls(client, spare).items():
            warm_up = max(block, 25)
            for written in (True, False):  # warm-up of both sides: imports, statements, caches
                with audit_written(written):
                    for index in range(warm_up):
                        timed(call, index)
            times: dict[bool, list[float]] = {True: [], False: []}
            index = 2 * warm_up
            rounds = max(1, count // block)
            for round_number in range(rounds):
                # Alternate which side goes first, so neither always follows the other.
                for written in ((True, False) if round_number % 2 == 0 else (False, True)):
                    with audit_written(written):
                        for _ in range(block):
                            times[written].append(timed(call, index))
                            index += 1
            with_audit, without = statistics.median(times[True]), statistics.median(times[False])
            rows.append({"database": kind, "call": name, "calls": len(times[True]),
                         "with_audit_ms": round(with_audit, 3), "without_ms": round(without, 3),
                         "ratio": round(with_audit / without, 3),
                         "overhead_ms": round(with_audit - without, 3)})
        return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600, help="calls of each kind on each side")
    parser.add_argument("--block", type=int, default=1, help="calls in a row before switching sides (1: every other call)")
    options = parser.parse_args(argv)
    environment = BenchEnvironment()
    try:
        rows = [row for kind in environment.kinds for row in measure(environment, kind, options.calls,
                                                                     options.block)]
        print(environment_description(environment))
    finally:
        environment.close()
    print_table("Audit write: median latency of a recorded API call, with and without its entry",
                rows, ["database", "call", "calls", "with_audit_ms", "without_ms", "overhead_ms", "ratio"])
    worst = max(row["ratio"] for row in rows)
    print(f"\nworst ratio {worst:.3f} (goal ≤ {GOAL:.2f}): {'met' if worst <= GOAL else 'NOT MET'}")
    print(f"results: {save('audit_overhead', {'rows': rows, 'goal': GOAL})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

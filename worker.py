"""Run one RQ worker inside the Inkwright app: ``python worker.py [--class threads --concurrency 64] [--burst] [--with-cron]``.

The worker needs the same Redis as the web processes: set ``INKWRIGHT_REDIS_URL``.
"""

from __future__ import annotations

import argparse
import sys

from app import create_app
from app.errors import ConfigError
from app.runtime import current_state
from app.workers import WORKER_CLASSES, run_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class", dest="worker_class", choices=sorted(WORKER_CLASSES), default=None,
                        help="simple runs jobs in the worker process; fork forks a horse per job; "
                             "threads runs --concurrency jobs at once")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="jobs at once for a threads worker (default: WORKER_CONCURRENCY)")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--queue", dest="queues", action="append", help="queue to listen on (repeatable)")
    parser.add_argument("--with-cron", action="store_true",
                        help="also run the schedules (one worker started so leads at a time)")
    args = parser.parse_args(argv)
    try:
        # The pool is sized for the concurrency when the app is built (DATABASE_POOL_SIZE 0).
        app = create_app({} if args.concurrency is None else {"WORKER_CONCURRENCY": args.concurrency})
        if current_state(app).redis.is_embedded:
            parser.error("set INKWRIGHT_REDIS_URL to the Redis the web app uses")
        run_worker(app, args.worker_class, burst=args.burst, queues=args.queues, concurrency=args.concurrency,
                   with_cron=args.with_cron)
    except ConfigError as exc:
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())

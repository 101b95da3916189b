"""``flask inkwright studio`` runs the whole studio; ``flask inkwright worker`` one worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from ..errors import ConfigError
from ..migrations import MigrationError, upgrade_all
from ..processes import die_with_parent
from ..runtime import current_state
from ..workers import WORKER_CLASSES, run_worker, sized_for

#: The studio's own worker: one process keeping many steps in flight, which suits steps
#: that mostly wait for a model (``--workers`` starts more processes).
STUDIO_WORKER_CLASS = "threads"


def _spawn_worker(redis_url: str, worker_class: str, concurrency: int) -> subprocess.Popen:
    env = {**os.environ, "INKWRIGHT_REDIS_URL": redis_url, "INKWRIGHT_INSTANCE_PATH": current_app.instance_path,
           # The child sizes its database pool from this when its app is built.
           "INKWRIGHT_WORKER_CONCURRENCY": str(concurrency)}
    # Every studio worker may run the schedules; one leads at a time (app/cron.py).
    command = [sys.executable, "-m", "flask", "--app", "app:create_app", "inkwright", "worker",
               "--class", worker_class, "--with-cron"]
    return subprocess.Popen(command, env=env, preexec_fn=die_with_parent())


def _stop_like_ctrl_c(_signum: int, _frame: object) -> None:
    """SIGTERM from a process manager ends the studio as Ctrl-C does, children included."""
    raise KeyboardInterrupt


@click.command("studio")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to serve on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(0, 32), help="Worker processes.")
@click.option("--worker-class", type=click.Choice(sorted(WORKER_CLASSES)), default=STUDIO_WORKER_CLASS,
              show_default=True, help="threads keeps many steps in flight per process; simple or fork run one.")
@click.option("--concurrency", type=click.IntRange(1, 1024), default=None,
              help="Jobs at once per threads worker (default: WORKER_CONCURRENCY).")
@with_appcontext
def run_studio(host: str, port: int, workers: int, worker_class: str, concurrency: int | None) -> None:
    """Migrate, then serve the web app with its workers (and Redis, when none is configured)."""
    app = current_app._get_current_object()
    try:
        upgrade_all()
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    state = current_state()
    redis_url = state.redis.url  # starts the embedded server here, in the main thread
    if state.redis.is_embedded:
        click.echo(f"Embedded redis-server on {state.redis.embedded.socket_path}")
    at_once = concurrency or app.config["WORKER_CONCURRENCY"]
    children = [_spawn_worker(redis_url, worker_class, at_once) for _ in range(workers)]
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    each = f", {at_once} jobs at once each" if worker_class == "threads" else ""
    click.echo(f"Inkwright studio on http://{host}:{port}/  ({workers} {worker_class} worker(s){each}; "
               "Ctrl-C stops everything)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        state.redis.close()


@click.command("worker")
@click.option("--class", "worker_class", type=click.Choice(sorted(WORKER_CLASSES)), default=None,
              help="simple runs jobs in-process; fork forks a horse per job; threads runs --concurrency "
                   "jobs at once (default: WORKER_CLASS).")
@click.option("--concurrency", type=int, default=None, help="Jobs at once, for threads (default: WORKER_CONCURRENCY).")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--queue", "queues", multiple=True, help="Queue(s) to listen on (default: QUEUE_NAME).")
@click.option("--with-cron", is_flag=True, help="Also run the schedules (one such worker leads at a time).")
@with_appcontext
def run_worker_command(worker_class: str | None, concurrency: int | None, burst: bool,
                       queues: tuple[str, ...], with_cron: bool) -> None:
    """Run one RQ worker inside the app (what worker.py does)."""
    if current_state().redis.is_embedded:
        raise click.ClickException(
            "A separate worker needs a shared Redis: set INKWRIGHT_REDIS_URL "
            "(`flask inkwright studio` starts workers with its embedded Redis for you)."
        )
    app = current_app._get_current_object()
    try:
        run_worker(sized_for(app, concurrency), worker_class, burst=burst, queues=list(queues) or None,
                   concurrency=concurrency, with_cron=with_cron)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


COMMANDS = (run_studio, run_worker_command)

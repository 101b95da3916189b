"""The two WSGI apps ``bench/api_reads.py`` serves under gunicorn, built from the environment.

``inkwright`` is the real app (``create_app()``, configured by ``INKWRIGHT_*``); ``bare`` is
the baseline: a Flask app with one endpoint answering the bytes in ``INKWRIGHT_BENCH_BODY``
(the run detail the real app gave), as JSON, with nothing else to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

from app import create_app

_body = Path(os.environ.get("INKWRIGHT_BENCH_BODY", "/dev/null")).read_bytes()

bare = Flask("bench-bare")


@bare.get("/bare")
def same_bytes() -> Response:
    return Response(_body, mimetype="application/json")


def __getattr__(name: str):  # built only when gunicorn asks for it: the bare server never builds it
    if name == "inkwright":
        globals()["inkwright"] = application = create_app()
        return application
    raise AttributeError(name)

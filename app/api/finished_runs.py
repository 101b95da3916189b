"""The envelope around a finished run's kept detail (:mod:`app.engine.finished_details`):
the JSON text is made once, and each request wraps it in metadata of its own."""

from __future__ import annotations

from flask import Response, current_app

from ..envelope import metadata


def enveloped(data_text: str, headers: dict[str, str]) -> Response:
    """A success envelope around JSON text already made, with this request's metadata."""
    body = f'{{"success":true,"data":{data_text},"error":null,"metadata":{current_app.json.dumps(metadata())}}}'
    return Response(body, status=200, mimetype="application/json", headers=headers)

"""Seed 000's response envelope ``{success, data, error, metadata}``, and the one place
every error — ours, Werkzeug's, flask-smorest's, or an unexpected exception — becomes a
response.

JSON clients (``/api/…``, the health probes, or anything asking for JSON) get the
envelope with a stable ``error.code``; browsers get an HTML page.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from .errors import (
    DATABASE_AWAY,
    AppError,
    ForbiddenError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthorizedError,
    ValidationError,
)
from .models.base import utcnow
from .version import __version__

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming request id is kept (for tracing across services) only if it looks like one.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")
JSON_PATH_PREFIXES = ("/api/", "/healthz", "/readyz")


class MalformedRequestError(ValidationError):
    code = "MALFORMED_REQUEST"

    def default_message(self) -> str:
        return "The request body could not be read; send well-formed JSON."


def begin_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def request_id() -> str:
    return g.get("request_id") or uuid.uuid4().hex


def metadata() -> dict[str, Any]:
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 3) if started else None
    return {
        "requestId": request_id(),
        "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
        "version": __version__,
        "duration": duration,
    }


def success(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data, "error": None, "metadata": metadata()}


def failure(error: AppError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message, "retryable": error.retryable}
    if error.details:
        body["details"] = error.details
    return {"success": False, "data": None, "error": body, "metadata": metadata()}


def wants_json() -> bool:
    if request.path.startswith(JSON_PATH_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _validation_details(messages: Any) -> dict[str, Any]:
    """webargs nests messages by location (``{"json": {...}, "query": {...}}``); flatten them."""
    if not isinstance(messages, dict):
        return {"fields": {"_request": messages}}
    fields: dict[str, Any] = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            for name, problem in errors.items():
                key = name if location in ("json", "form") else f"{location}.{name}"
                fields[key] = problem
        else:
            fields[f"_{location}"] = errors
    return {"fields": fields}


def from_http_exception(exc: HTTPException) -> AppError:
    """Map Werkzeug's and flask-smorest's HTTP errors onto the stable codes."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    status = exc.code or 500
    if status in (400, 422) and messages:
        if isinstance(messages, dict) and messages.get("json") == ["Invalid JSON body."]:
            return MalformedRequestError()
        return ValidationError("Some of the values sent are not valid; see error.details.fields.",
                               _validation_details(messages))
    mapping: dict[int, type[AppError]] = {
        400: MalformedRequestError, 401: UnauthorizedError, 403: ForbiddenError, 404: NotFoundError,
        405: MethodNotAllowedError, 413: PayloadTooLargeError, 429: RateLimitedError,
        503: ServiceUnavailableError,
    }
    error_class = mapping.get(status)
    if error_class is None:
        error = AppError(exc.description if status < 500 else None)
        error.status_code = status
        return error
    if status == 405:
        allowed = sorted(getattr(exc, "valid_methods", None) or [])
        return error_class(details={"allowed": allowed} if allowed else None)
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return error_class(f"The request body is larger than the {limit} bytes this server accepts.",
                           {"maxBytes": limit})
    return error_class()


def error_response(error: AppError) -> Response:
    if wants_json():
        response = jsonify(failure(error))
    else:
        response = Response(render_template("error.html", error=error), mimetype="text/html")
    response.status_code = error.status_code
    retry_after = getattr(error, "retry_after", None)  # 429 and 503: when to ask again
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    if isinstance(error, UnauthorizedError) and wants_json():
        response.headers["WWW-Authenticate"] = 'Bearer realm="inkwright"'
    return response


def handle_app_error(error: AppError) -> Response:
    if getattr(error, "retryable", False) and error.status_code == 503:
        # The database or another service is away for a moment: nothing to debug, no traceback.
        log.warning("request %s: %s (%s)", request_id(), error, getattr(error, "cause", None) or "")
    elif error.status_code >= 500:
        log.error("request %s failed: %s", request_id(), error, exc_info=error)
    return error_response(error)


def handle_http_exception(exc: HTTPException) -> Response:
    if 300 <= (exc.code or 500) < 400:
        return exc.get_response()
    return handle_app_error(from_http_exception(exc))


def handle_unexpected(exc: Exception) -> Response:
    from .repositories.failures import database_unreachable  # the repositories import this module

    if database_unreachable(exc):  # outside a repository (a session's teardown, say): still a 503
        log.warning("request %s: the database is unreachable: %s", request_id(), exc)
        return error_response(ServiceUnavailableError(DATABASE_AWAY))
    log.exception("request %s raised an unexpected error", request_id())
    return error_response(AppError())


def finish_response(response: Response) -> Response:
    response.headers.setdefault(REQUEST_ID_HEADER, request_id())
    return response


def install(app: Flask) -> None:
    """Wire the envelope's request hooks and error handlers into an app."""
    from .request_body import check_json_body  # it raises this module's MalformedRequestError

    app.before_request(begin_request)
    app.before_request(check_json_body)
    app.after_request(finish_response)
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)

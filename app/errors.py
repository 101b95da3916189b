"""The error hierarchy (seed 000's ``AppError`` family), each with a stable ``code``.

Code anywhere in Inkwright — core, plugins, jobs — raises one of these; the API renders
them into the envelope in one place (:mod:`app.envelope`). ``code`` strings are a public
contract: clients branch on them, so they never change once published.
"""

from __future__ import annotations

import re
from typing import Any


class AppError(Exception):
    """Base of every error Inkwright reports to a person or a client.

    :param message: a sentence a person can act on.
    :param details: field-level or contextual detail, rendered as ``error.details``.
    """

    code = "INTERNAL_ERROR"
    status_code = 500
    retryable = False
    #: Set on a model call's error once the call's one retry budget was spent on it (issue
    #: 12): its step does not try again, so transport and step retries never multiply.
    call_budget_spent = False

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None):
        self.message = message or self.default_message()
        self.details = details or {}
        super().__init__(self.message)

    def default_message(self) -> str:
        return "Something went wrong on our side; the error has been logged."


class ValidationError(AppError):
    code = "VALIDATION_ERROR"
    status_code = 400

    def default_message(self) -> str:
        return "Some of the values sent are not valid."


class UnauthorizedError(AppError):
    code = "UNAUTHORIZED"
    status_code = 401

    def default_message(self) -> str:
        return "Sign in, or send a valid bearer token, to use this endpoint."


class PaymentRequiredError(AppError):
    code = "PAYMENT_REQUIRED"
    status_code = 402

    def default_message(self) -> str:
        return "Not enough credits for this action."


class SubscriptionInactiveError(PaymentRequiredError):
    """The payer's subscription is canceled, expired or paused: no platform credits are spent
    (a call on their own provider key, or an offline one, still goes)."""

    code = "SUBSCRIPTION_INACTIVE"

    def default_message(self) -> str:
        return "The subscription is not active, so no platform credits can be spent."


class ForbiddenError(AppError):
    code = "FORBIDDEN"
    status_code = 403

    def default_message(self) -> str:
        return "Your role does not allow this action."


class NotFoundError(AppError):
    code = "NOT_FOUND"
    status_code = 404

    def default_message(self) -> str:
        return "Nothing exists at this address."


class MethodNotAllowedError(AppError):
    code = "METHOD_NOT_ALLOWED"
    status_code = 405

    def default_message(self) -> str:
        return "This address does not accept that HTTP method."


class ConflictError(AppError):
    code = "CONFLICT"
    status_code = 409

    def default_message(self) -> str:
        return "This conflicts with the current state of the resource."


class PayloadTooLargeError(AppError):
    code = "PAYLOAD_TOO_LARGE"
    status_code = 413

    def default_message(self) -> str:
        return "The request body is larger than this server accepts."


class RateLimitedError(AppError):
    code = "RATE_LIMITED"
    status_code = 429
    retryable = True

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None,
                 retry_after: int | None = None):
        super().__init__(message, details)
        self.retry_after = retry_after

    def default_message(self) -> str:
        return "Too many attempts; wait a little and try again."


class ExternalServiceError(AppError):
    code = "EXTERNAL_SERVICE_ERROR"
    status_code = 502
    retryable = True

    def default_message(self) -> str:
        return "A service Inkwright depends on did not answer properly."


class ServiceUnavailableError(AppError):
    code = "SERVICE_UNAVAILABLE"
    status_code = 503
    retryable = True

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None,
                 retry_after: int | None = 5):
        super().__init__(message, details)
        self.retry_after = retry_after

    def default_message(self) -> str:
        return "Inkwright cannot serve this right now; try again shortly."


class WorkflowExecutionError(AppError):
    code = "WORKFLOW_EXECUTION_ERROR"
    status_code = 500

    def default_message(self) -> str:
        return "The workflow could not be executed."


class RepositoryError(AppError):
    """A database operation failed (seed 002): which operation, on which entity, and why.

    :param operation: the repository method, e.g. ``find_by_email``.
    :param entity: the model name, e.g. ``User``.
    :param cause: the underlying exception, kept for the log and never shown to clients.
    """

    code = "REPOSITORY_ERROR"
    status_code = 500

    def __init__(self, operation: str, entity: str, cause: BaseException | None = None,
                 message: str | None = None):
        self.operation = operation
        self.entity = entity
        self.cause = cause
        super().__init__(message or f"The database could not {operation} {entity}.")


DATABASE_AWAY = "The database cannot be reached just now; try again shortly."


class DatabaseUnavailableError(RepositoryError):
    """The database could not be reached (refused, dropped, locked, timed out): nothing is
    wrong with the request, so it is a retryable 503 with ``Retry-After``, never a 500."""

    code = "SERVICE_UNAVAILABLE"
    status_code = 503
    retryable = True
    retry_after = 5
    #: Set by the step executor when the failure came before its claim: nothing changed.
    before_claim = False

    def __init__(self, operation: str, entity: str, cause: BaseException | None = None):
        super().__init__(operation, entity, cause, DATABASE_AWAY)


ROW_TAKEN = "Someone else just saved the same thing; reload it and try again."


class DuplicateRowError(RepositoryError):
    """Two writers raced to create the same row and this one lost (a unique constraint): the
    request was fine a moment ago, so it is a retryable 409, never a 500. ``cause`` keeps the
    driver's error for callers that follow the winner's row instead (the step cache)."""

    code = "CONFLICT"
    status_code = 409
    retryable = True

    def __init__(self, operation: str, entity: str, cause: BaseException | None = None):
        super().__init__(operation, entity, cause, ROW_TAKEN)


class ConfigError(Exception):
    """Configuration is invalid; raised at start with every problem listed."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        lines = "\n  - ".join(self.problems)
        super().__init__(f"Inkwright cannot start; fix these settings:\n  - {lines}")


class IllegalTransitionError(ConflictError):
    """A status change the entity's transition table does not allow."""

    code = "ILLEGAL_TRANSITION"

    def __init__(self, entity: str, current: str, requested: str):
        super().__init__(
            f"{entity} cannot move from {current} to {requested}.",
            {"entity": entity, "from": current, "to": requested},
        )


# Model providers (issue 4). A provider raises these; the metering layer records each as a
# failed call with its code, and the step's retry policy decides what happens next.
class ProviderTimeoutError(ExternalServiceError):
    code = "PROVIDER_TIMEOUT"

    def default_message(self) -> str:
        return "The model provider did not answer in time."


class ProviderRateLimitedError(ExternalServiceError):
    """The provider said 429 and kept saying it through every retry."""

    code = "PROVIDER_RATE_LIMITED"

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None,
                 retry_after: float | None = None):
        super().__init__(message, details)
        self.retry_after = retry_after

    def default_message(self) -> str:
        return "The model provider is rate limiting these calls; try again later."


class ProviderAuthError(ExternalServiceError):
    """The provider refused the key (401/403): retrying with the same key cannot help."""

    code = "PROVIDER_AUTH_FAILED"
    retryable = False

    def default_message(self) -> str:
        return "The model provider refused the API key."


class ProviderRequestError(ExternalServiceError):
    """The provider refused the request itself (400, 404, 422): fix the request, not the timing."""

    code = "PROVIDER_REQUEST_REJECTED"
    retryable = False

    def default_message(self) -> str:
        return "The model provider refused the request."


class ProviderResponseError(ExternalServiceError):
    """The provider answered something that is not its protocol (garbage, a cut-off body)."""

    code = "PROVIDER_BAD_RESPONSE"

    def default_message(self) -> str:
        return "The model provider answered with something that could not be read."


class ModelOutputInvalidError(ExternalServiceError):
    """The model's answer does not fit the JSON schema asked for."""

    code = "MODEL_OUTPUT_INVALID"

    def default_message(self) -> str:
        return "The model's answer does not fit the requested JSON schema."


class UnknownModelError(NotFoundError):
    code = "UNKNOWN_MODEL"

    def default_message(self) -> str:
        return "No such model is installed; name models as provider:model."


class ModelNotPricedError(ValidationError):
    code = "MODEL_NOT_PRICED"

    def default_message(self) -> str:
        return "The model has no price in the model catalog, so its calls cannot be metered."


class BudgetExceededError(PaymentRequiredError):
    """The run's budget cap (tokens or cost) would be passed by this call."""

    code = "BUDGET_EXCEEDED"

    def default_message(self) -> str:
        return "The call would pass the run's budget."


# Models a run names, checked when it is started (issue 9): refused as bad input (422, with
# the request field that names the model under ``details.fields``) rather than a run that
# fails at its first step. The codes are the model catalog's own, so a client branches on
# one ``UNKNOWN_MODEL`` whether a call or a submitted run named the model.
class RunModelRefusedError(ValidationError):
    """A model a run could use cannot be used; ``details.fields`` names the field naming it."""

    status_code = 422

    def default_message(self) -> str:
        return "A model this run names cannot be used; see error.details.fields."


class RunModelUnknownError(RunModelRefusedError):
    code = "UNKNOWN_MODEL"

    def default_message(self) -> str:
        return "This run names a model no installed provider serves; see error.details.fields."


class RunModelNotPricedError(RunModelRefusedError):
    code = "MODEL_NOT_PRICED"

    def default_message(self) -> str:
        return "This run names a model with no price in the model catalog; see error.details.fields."


# What a person or client reads of an error a step or run recorded (issue 9): its ``code`` and
# a message, never an exception's class name or a traceback. Older rows (and errors from
# third-party skills) read "UnknownModelError: No model provider…"; the class name is cut.
_CLASS_PREFIX = re.compile(r"^(?:[A-Za-z_][\w]*\.)*[A-Z]\w*(?:Error|Exception|Failure|Timeout|Interrupt|Problem)"
                           r"(?:\([^)]*\))?:\s+")
_PRIVATE_KEYS = frozenset({"traceback", "exc_info", "exception", "type", "class", "stack"})


def readable_message(message: Any) -> str:
    """A recorded error message as a person should read it: no traceback, no class name."""
    text = str(message or "").strip()
    if "Traceback (most recent call last)" in text:
        # Only the last line of a traceback says what happened; the frames are for the log.
        text = text.rstrip().splitlines()[-1].strip()
    while _CLASS_PREFIX.match(text):
        text = _CLASS_PREFIX.sub("", text, count=1)
    return text


def public_error(error: Any) -> dict[str, Any] | None:
    """A recorded error (a step's, a run's, an attempt's) as its envelope: ``code`` and
    ``message`` first, then what else was recorded, minus anything private to the code."""
    if not error:
        return None
    if not isinstance(error, dict):
        return {"code": AppError.code, "message": readable_message(error) or AppError().message}
    shown = {key: value for key, value in error.items() if key not in _PRIVATE_KEYS}
    shown["code"] = error.get("code") or AppError.code
    shown["message"] = readable_message(error.get("message")) or AppError().message
    return {"code": shown.pop("code"), "message": shown.pop("message"), **shown}

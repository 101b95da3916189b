"""What an export refuses, each with its stable code (issue 16's "Bad input")."""

from __future__ import annotations

from ..errors import AppError, ValidationError


class ExportRefusedError(ValidationError):
    """An export that cannot be made from what was asked; ``details.fields`` names the field."""

    status_code = 422


class ExportFormatRetiredError(ExportRefusedError):
    code = "EXPORT_FORMAT_RETIRED"


class RefNotFoundError(ExportRefusedError):
    code = "REF_NOT_FOUND"


class ExportEmptyError(ExportRefusedError):
    code = "EXPORT_EMPTY"


class ExportNotReadyError(AppError):
    code = "EXPORT_NOT_READY"
    status_code = 409
    retryable = True


class ExportExpiredError(AppError):
    code = "EXPORT_EXPIRED"
    status_code = 410


def field_problem(error: type[ExportRefusedError], field: str, message: str) -> ExportRefusedError:
    return error(message, {"fields": {field: [message]}})

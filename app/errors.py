"""One error shape for every 4xx/5xx: RFC 9457 problem details (``application/problem+json``).

Errors are exception classes carrying their status; one set of handlers renders them. Written here rather than
taken from a library: the shape is a handful of fields plus our ``errors``/``allowed`` extensions, and the
problem-JSON packages on PyPI are young and little used; FastAPI's own handlers are replaced so that validation
errors, 404s of unknown routes, 405s and unexpected exceptions all come out the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("clinmatch.errors")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://clinmatch.example.org/problems/"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
}


class AppError(Exception):
    status: int = 400
    code: str = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not-found"


class Conflict(AppError):
    status, code = 409, "conflict"


class VersionConflict(Conflict):
    code = "version-conflict"


class InvalidTransition(Conflict):
    code = "invalid-transition"


class Invalid(AppError):
    """Input that is well-formed but breaks a business rule; names the field."""

    status, code = 422, "invalid-input"

    def __init__(self, field: str, message: str, **extra: Any) -> None:
        super().__init__(message, errors=[{"field": field, "message": message}], **extra)


def problem(status: int, code: str, detail: str, *, errors=None, headers=None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    rid = correlation_id.get()
    if rid:
        body["request_id"] = rid
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(exc.status, exc.code, exc.detail, errors=exc.errors, headers=headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        errors = []
        for e in exc.errors():
            errors.append({"field": _field_path(e.get("loc", ())), "in": (e.get("loc") or ["body"])[0],
                           "message": e.get("msg", "invalid"), "type": e.get("type")})
        fields = ", ".join(sorted({e["field"] for e in errors})) or "request"
        return problem(422, "invalid-input", f"Invalid input: {fields}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        return problem(exc.status_code, code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception):  # pragma: no cover - last resort
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "internal-error", "An unexpected error occurred; it has been logged.")

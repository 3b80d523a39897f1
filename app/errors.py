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


class PayloadTooLarge(AppError):
    status, code = 413, "payload-too-large"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported-media-type"


class TooManyRequests(AppError):
    """Too many failed authentications from one address: try again after ``retry_after`` seconds."""

    status, code = 429, "too-many-requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


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


# Clearer words than pydantic's for some errors (by error type).
_MESSAGES = {"extra_forbidden": "Unknown field: this request body does not accept it (check the spelling)."}


def _field_path(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "")


_REF = "#/components/schemas/"
_PROBLEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details; some problems add members (e.g. current_version, allowed).",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "request_id": {"type": "string"},
            "errors": {"type": "array", "items": {"$ref": _REF + "ProblemFieldError"}},
        },
    },
    "ProblemFieldError": {
        "title": "ProblemFieldError",
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string"},
            "message": {"type": "string"},
            "in": {"type": "string"},
            "type": {"type": "string"},
        },
    },
    "ValidationProblem": {
        "title": "ValidationProblem",
        "allOf": [{"$ref": _REF + "Problem"}],
        "type": "object",
        "required": ["errors"],
        "properties": {"status": {"const": 422}, "errors": {"type": "array", "minItems": 1}},
    },
}


def _problem_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": _REF + schema}}}}


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what the handlers do: errors are problem+json, 422s included.

    FastAPI documents its own 422 body (``HTTPValidationError``, ``application/json``), which these handlers
    replace; every operation also gets a ``default`` problem response for its 401/403/404/409/412/428s.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses") if isinstance(operation, dict) else None
                if responses is None:
                    continue
                if "422" in responses:
                    responses["422"] = _problem_response("Invalid input: the problem names the fields",
                                                         "ValidationProblem")
                responses.setdefault("default", _problem_response("Error: problem details (RFC 9457)", "Problem"))
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(_PROBLEM_SCHEMAS)
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    document_problems(app)

    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else getattr(exc, "headers", None)
        return problem(exc.status, exc.code, exc.detail, errors=exc.errors, headers=headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        errors = []
        for e in exc.errors():
            msg = _MESSAGES.get(e.get("type"), e.get("msg", "invalid"))
            errors.append({"field": _field_path(e.get("loc", ())), "in": (e.get("loc") or ["body"])[0],
                           "message": msg, "type": e.get("type")})
        fields = ", ".join(sorted({e["field"] for e in errors})) or "request"
        return problem(422, "invalid-input", f"Invalid input: {fields}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        code = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(exc.status_code,
                                                                                          "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        return problem(exc.status_code, code, detail, headers=getattr(exc, "headers", None),
                       **getattr(exc, "extra", {}))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception):  # pragma: no cover - last resort
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "internal-error", "An unexpected error occurred; it has been logged.")

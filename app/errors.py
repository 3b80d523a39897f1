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
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import Message, msg, negotiate, say

log = logging.getLogger("clinmatch.errors")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://clinmatch.example.org/problems/"

_TITLES = {
    400: msg("Bad request"),
    401: msg("Unauthorized"),
    403: msg("Forbidden"),
    404: msg("Not found"),
    405: msg("Method not allowed"),
    409: msg("Conflict"),
    412: msg("Precondition failed"),
    413: msg("Payload too large"),
    415: msg("Unsupported media type"),
    422: msg("Invalid input"),
    428: msg("Precondition required"),
    429: msg("Too many requests"),
    500: msg("Internal server error"),
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


class PreconditionRequired(AppError):
    """An update without the version the client read (neither ``version`` in the body nor ``If-Match``)."""

    status, code = 428, "version-required"


class GuardFailed(Conflict):
    """The transition is in the table, but a precondition the regulation requires is not met (409)."""

    code = "transition-precondition"


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` (``app.limits``): FastAPI re-raises HTTPExceptions met while reading a body, so the
    app's handler renders it as problem+json (a 413); outside FastAPI's body parsing the middleware renders it
    itself."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the limit of {limit} bytes.")
        self.extra = {"max_bytes": limit}  # the problem's extension member, as for attachments


# Not answered to a request: failures inside the notification jobs, recorded on the delivery or the endpoint.

class SendError(Exception):
    """A webhook or e-mail could not be delivered (``status_code``: the receiver's HTTP status, when it answered)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class Blocked(ValueError):
    """The URL or the address it resolves to is not a place webhooks may go; the message says why, briefly."""


class Unresolvable(Blocked):
    """The webhook's host name does not resolve."""


def problem(status: int, code: str, detail: str, *, errors=None, headers=None, lang: str = "en",
            **extra: Any) -> JSONResponse:
    """A problem response; ``lang``: the language ``detail`` and ``errors`` are in (the title follows)."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": say(_TITLES.get(status, "Error"), lang),
        "status": status,
        "detail": detail,
    }
    rid = correlation_id.get()
    if rid:
        body["request_id"] = rid
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON,
                        headers={**(headers or {}), "Content-Language": "zh-CN" if lang == "zh" else "en"})


# Field messages by pydantic's error type: ours in the catalogue (with pydantic's context as parameters), so they
# are said in the caller's language; other types keep pydantic's English, or a general sentence in Chinese.
_MESSAGES = {
    "extra_forbidden": msg("Unknown field: this request body does not accept it (check the spelling)."),
    "missing": msg("Field required."),
    "string_too_long": msg("At most {max_length} characters."),
    "string_too_short": msg("At least {min_length} characters."),
    "too_long": msg("At most {max_length} items."),
    "too_short": msg("At least {min_length} items."),
    "greater_than_equal": msg("Must be at least {ge}."),
    "less_than_equal": msg("Must be at most {le}."),
    "greater_than": msg("Must be greater than {gt}."),
    "less_than": msg("Must be less than {lt}."),
    "enum": msg("Must be one of: {expected}."),
    "literal_error": msg("Must be one of: {expected}."),
    "int_parsing": msg("Must be a whole number."),
    "int_type": msg("Must be a whole number."),
    "float_parsing": msg("Must be a number."),
    "bool_parsing": msg("Must be true or false."),
    "string_type": msg("Must be text."),
    "list_type": msg("Must be a list."),
    "date_from_datetime_parsing": msg("Must be a date (YYYY-MM-DD)."),
    "date_parsing": msg("Must be a date (YYYY-MM-DD)."),
    "datetime_from_date_parsing": msg("Must be a date and time (ISO 8601)."),
    "datetime_parsing": msg("Must be a date and time (ISO 8601)."),
    "timezone_aware": msg("Must carry a UTC offset."),
    "json_invalid": msg("The body is not valid JSON."),
    "model_attributes_type": msg("Must be an object."),
    "dict_type": msg("Must be an object."),
    "url_parsing": msg("Must be a URL."),
    "url_scheme": msg("Must be an http or https URL."),
}
INVALID = msg("Invalid input.")  # the Chinese fallback for a type the catalogue does not name


def field_message(e: dict[str, Any], lang: str) -> str:
    """A validation error's message in ``lang``: a validator's own ``Message`` (ours), a catalogued type with
    pydantic's context, or pydantic's English (in Chinese: a general sentence, never English inside Chinese)."""
    ctx = e.get("ctx") or {}
    err = ctx.get("error")
    if isinstance(err, ValueError) and err.args and isinstance(err.args[0], Message):
        return say(err.args[0], lang)
    template = _MESSAGES.get(e.get("type"))
    if template is not None and e.get("type") != "value_error":
        try:
            return say(Message(template.template, **{k: _plain(v) for k, v in ctx.items()}), lang)
        except (KeyError, IndexError):
            return say(template, lang) if not template.params else e.get("msg", "invalid")
    if lang == "zh":
        return say(INVALID, lang)
    return e.get("msg", "invalid")


def _plain(v: Any) -> Any:
    return v if isinstance(v, (int, float, str)) else str(v)


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


def _user_language(engine, user_id: int) -> str | None:
    # inside: the models import the workflow, which imports this module (its guards raise Conflict)
    from app.models import UserNotificationPreference

    with Session(engine) as s:
        return s.scalar(select(UserNotificationPreference.language)
                        .where(UserNotificationPreference.user_id == user_id))


async def request_language(request: Request) -> str:
    """The caller's language: the signed-in person's own preference, else Accept-Language, else Chinese. Looked up
    only when an error is rendered (errors are rare; the request path pays nothing)."""
    preferred = None
    actor = getattr(request.state, "actor", None)
    if actor is not None and actor.user_id is not None:
        try:
            preferred = await run_in_threadpool(_user_language, request.app.state.engine, actor.user_id)
        except SQLAlchemyError:  # pragma: no cover - the database is what failed: answer in the header's language
            preferred = None
    return negotiate(request.headers.get("accept-language"), preferred)


def install_error_handlers(app: FastAPI) -> None:
    document_problems(app)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError):
        lang = await request_language(request)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else getattr(exc, "headers", None)
        errors = [{**e, "message": say(e["message"], lang)} for e in exc.errors] if exc.errors else None
        return problem(exc.status, exc.code, say(exc.detail, lang), errors=errors, headers=headers, lang=lang,
                       **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        lang = await request_language(request)
        errors = []
        for e in exc.errors():
            errors.append({"field": _field_path(e.get("loc", ())), "in": (e.get("loc") or ["body"])[0],
                           "message": field_message(e, lang), "type": e.get("type")})
        fields = ", ".join(sorted({e["field"] for e in errors})) or "request"
        return problem(422, "invalid-input", say(msg("Invalid input: {fields}", fields=fields), lang),
                       errors=errors, lang=lang)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        lang = await request_language(request)
        code = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(exc.status_code,
                                                                                          "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        return problem(exc.status_code, code, say(detail, lang), headers=getattr(exc, "headers", None), lang=lang,
                       **getattr(exc, "extra", {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # pragma: no cover - last resort
        log.exception("unhandled error", exc_info=exc)
        lang = negotiate(request.headers.get("accept-language"))
        return problem(500, "internal-error", say(msg("An unexpected error occurred; it has been logged."), lang),
                       lang=lang)


# --- the web app's page outcomes (app/web/core.py renders them as pages, never as problem JSON) ------------------

class SignInRequired(Exception):
    """A page that needs a person: redirect to /signin?next=..."""


class PageForbidden(Exception):
    """A signed-in person without the role a page needs: the 403 page."""


class CsrfRefused(Exception):
    """A form posted without the session's token: the 403 page, nothing changed."""


class PageTooMany(Exception):
    """Too many failed sign-ins or reset requests from one address: the 429 page with Retry-After."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

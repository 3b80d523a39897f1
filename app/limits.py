"""Limits every request meets before an endpoint runs: the size of its body, and no NUL character in its path or
query (PostgreSQL cannot store or compare text holding one; bodies are checked by the input models, see
app.models.common.Input).

A body larger than the limit is refused with 413 before it is read: at once when Content-Length says so, else
(chunked) as soon as the bytes counted while the endpoint reads pass the limit. JSON and forms get
``max_json_bytes``; multipart uploads ``max_attachment_bytes`` plus room for the multipart framing (the endpoint
still checks the file itself). Written as a pure ASGI middleware: Starlette has no body limit of its own.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import BodyTooLarge, problem

MULTIPART_OVERHEAD = 64 * 1024
NUL_MESSAGE = "must not contain NUL characters (U+0000)"


def _nul_errors(scope: Scope) -> list[dict]:
    errors = []
    if "\x00" in scope.get("path", ""):
        errors.append({"field": "path", "in": "path", "message": NUL_MESSAGE, "type": "nul_character"})
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" in query or "\x00" in query:  # cheap test first: parsing only the few that may hold one
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                errors.append({"field": name.replace("\x00", "") or "query", "in": "query", "message": NUL_MESSAGE,
                               "type": "nul_character"})
    return errors


class RequestLimits:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_multipart_bytes: int) -> None:
        self.app, self.max_body, self.max_multipart = app, max_body_bytes, max_multipart_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if errors := _nul_errors(scope):
            fields = ", ".join(sorted({e["field"] for e in errors}))
            await problem(422, "invalid-input", f"Invalid input: {fields}", errors=errors)(scope, receive, send)
            return
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").lower().startswith(b"multipart/")
        limit = self.max_multipart if multipart else self.max_body
        allowed = limit + MULTIPART_OVERHEAD if multipart else limit  # the file's limit, plus its framing
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > allowed:
            await self._too_large(limit, scope, receive, send)
            return
        seen, started = 0, False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > allowed:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await self._too_large(limit, scope, receive, send)

    @staticmethod
    async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        exc = BodyTooLarge(limit)
        await problem(413, "payload-too-large", exc.detail, **exc.extra)(scope, receive, send)

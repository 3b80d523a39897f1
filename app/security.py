"""Hardening at the edge: the security headers of every response (one middleware, here), the pages' CSP nonce,
the server's own request id, the throttle on failed authentications, and the API docs served without a CDN.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections import OrderedDict
from contextvars import ContextVar

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import TooManyRequests
from app.i18n import msg

REQUEST_ID_HEADER = "X-Request-ID"
# The X-Request-ID a caller sent: kept beside the server's id (audit trail), never used as it.
client_request_id: ContextVar[str | None] = ContextVar("client_request_id", default=None)

# HTML pages: scripts and styles from this origin only, inline ones only with the response's nonce.
PAGE_CSP = ("default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'")
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"  # JSON, CSV, files: nothing to run, nowhere to frame
HSTS = "max-age=31536000"
NO_STORE_PREFIXES = ("/api/v1", "/dashboard")  # confidential data: no copy in any cache
SWAGGER = "/static/vendor/swagger-ui-5.35.0"


def _clean_client_id(raw: bytes) -> str | None:
    """The caller's id as text, if it is printable ASCII; cut to the column's 64 characters."""
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    return text[:64] if text and text.isprintable() else None


class SecurityMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware: it would buffer streamed downloads). Must wrap CorrelationIdMiddleware, so
    that the caller's X-Request-ID is set aside before that one looks: the request id is then always the server's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = REQUEST_ID_HEADER.lower().encode()
        sent = [v for k, v in scope["headers"] if k == name]
        if sent:
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != name]
        token = client_request_id.set(_clean_client_id(sent[0]) if sent else None)
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        path = scope["path"]
        https = scope.get("scheme") == "https"  # uvicorn's --proxy-headers has applied a trusted X-Forwarded-Proto

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                html = h.get("content-type", "").startswith("text/html")
                h["Content-Security-Policy"] = (PAGE_CSP if html else OTHER_CSP).format(nonce=nonce)
                h["X-Content-Type-Options"] = "nosniff"
                h["X-Frame-Options"] = "DENY"
                h["Referrer-Policy"] = "no-referrer"
                if path.startswith(NO_STORE_PREFIXES):
                    h["Cache-Control"] = "no-store"
                if https:
                    h["Strict-Transport-Security"] = HSTS
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            client_request_id.reset(token)


def csp_nonce(request: Request) -> str:
    return request.state.csp_nonce


# --- throttling failed authentications ---------------------------------------------------------------------------

class AuthThrottle:
    """Counts failed authentications per client address in a moving window (``limits``, in memory, per process).

    An address past the limit gets 429 for any credential that has not authenticated recently; one that has (seen
    by this process within the window) still gets in: it reveals nothing to a guesser who does not already hold
    it, so users sharing an address with a guesser (a hospital's NAT) are not locked out by the guesser.
    """

    KNOWN_GOOD_MAX = 10_000

    def __init__(self, limit: int, window_seconds: int) -> None:
        self.item = RateLimitItemPerSecond(limit, window_seconds)
        self.window = window_seconds
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        # credential digest -> last success (monotonic); an LRU by hand: cachetools is not a dependency
        self._good: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _digest(credential: str) -> str:
        return hashlib.sha256(credential.encode()).hexdigest()

    def _known_good(self, credential: str | None) -> bool:
        if not credential:
            return False
        with self._lock:
            at = self._good.get(self._digest(credential))
        return at is not None and time.monotonic() - at < self.window

    def check(self, address: str, credential: str | None) -> None:
        """Raise 429 if the address is over its failures and the credential is not one seen to work recently."""
        if self.limiter.test(self.item, address) or self._known_good(credential):
            return
        reset = self.limiter.get_window_stats(self.item, address).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        raise TooManyRequests(msg("Too many failed authentications from this address; retry in {retry} s.",
                                  retry=retry), retry)

    def failed(self, address: str) -> None:
        self.limiter.hit(self.item, address)

    def succeeded(self, credential: str) -> None:
        with self._lock:
            self._good[self._digest(credential)] = time.monotonic()
            self._good.move_to_end(self._digest(credential))
            while len(self._good) > self.KNOWN_GOOD_MAX:
                self._good.popitem(last=False)


def client_address(request: Request) -> str:
    """The caller's address (uvicorn's --proxy-headers has replaced it with a trusted proxy's X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


# --- API docs without a CDN ----------------------------------------------------------------------------------------

def install_docs(app: FastAPI) -> None:
    """/docs from the vendored Swagger UI (static/vendor), its inline init script nonced. No /redoc: ReDoc's bundle
    writes its styles inline at run time (no nonce reaches it) and loads its logo from its vendor's CDN."""
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=app.openapi_url, title=title,
                                   swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{SWAGGER}/swagger-ui.css",
                                   swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
                                   swagger_ui_parameters={"validatorUrl": None})
        nonce = csp_nonce(request)
        return HTMLResponse(page.body.decode().replace("<script>", f'<script nonce="{nonce}">'))

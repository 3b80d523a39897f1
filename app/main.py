"""The FastAPI application factory."""

from __future__ import annotations

import logging

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI

from app import __version__
from app.api import api_router, health
from app.config import Settings, get_settings
from app.db import make_engine
from app.errors import install_error_handlers

DESCRIPTION = """
clinmatch matches hospital departments' clinical needs with the enterprises, university labs and shared platforms
of Shanghai's Putuo district and the Jiangsu corridor that can solve them.

Authenticate with `Authorization: Bearer <token>`. Errors are RFC 9457 problem details (`application/problem+json`).
Updates need the version you read (`version` in the body or `If-Match`); a stale version answers 409.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = FastAPI(title="clinmatch", version=__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url, echo=settings.sql_echo)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(api_router)
    return app

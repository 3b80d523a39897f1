"""The people's web app (server-rendered pages): app/web/core.py has what every page shares and how a page module
is written; each module below is a router. A new module is one more line in ``PAGE_MODULES``."""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from app.routing import add_flat
from app.web import admin, auth, commission, company, hospital, industry, partnerships
from app.web.core import HERE, install_page_errors

log = logging.getLogger("clinmatch.web")

# Page modules, each with a ``router``: the hospital's, the company's and the partnership pages join here.
PAGE_MODULES = [auth, admin, commission, industry, hospital, company, partnerships]


def install_web(app: FastAPI) -> None:
    """Mount the pages and their static files; set the key that signs the CSRF cookie of forms shown before
    sign-in; make errors on pages answer as pages."""
    key = app.state.settings.secret_key
    if not key:
        key = secrets.token_urlsafe(32)
        log.warning("CLINMATCH_SECRET_KEY is not set: forms shown before sign-in use a random per-process key (a "
                    "form opened before a restart or on another worker must be reloaded). Set CLINMATCH_SECRET_KEY.")
    app.state.web_secret = key
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # flat, as the API's: a page (and every 404 after the pages) no longer walks seven nested routers
    for module in PAGE_MODULES:
        for route in module.router.routes:
            if not isinstance(route, APIRoute):  # pragma: no cover - page modules hold path operations only
                raise TypeError(f"{route!r}: only path operations can be installed flat")
            add_flat(app, route.path, route)
    install_page_errors(app)

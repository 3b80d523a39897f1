"""Thin routers: parse, call a service, shape the response."""

from collections.abc import Iterator

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from app.api import (
    analytics,
    audit,
    capabilities,
    engagements,
    health,
    industry,
    introductions,
    matches,
    me,
    messages,
    needs,
    notes,
    notifications,
    organisations,
    specialties,
    user_invitations,
    users,
    webhooks,
)
from app.routing import add_flat

API_PREFIX = "/api/v1"
API_ROUTERS = (me.router, organisations.router, users.router, user_invitations.router, needs.router,
               capabilities.router, matches.router, engagements.router, introductions.router, messages.router,
               notes.router, audit.router, analytics.router, notifications.router, webhooks.router,
               specialties.router, industry.router, engagements.invitations)


def api_routes() -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every API route, in the order they are tried (health first, then the modules')."""
    for router, prefix in ((health.router, ""), *((r, API_PREFIX) for r in API_ROUTERS)):
        for route in router.routes:
            if not isinstance(route, APIRoute):  # pragma: no cover - the API modules hold path operations only
                raise TypeError(f"{route!r}: only path operations can be installed flat")
            yield prefix + route.path, route


def install_api(app: FastAPI) -> None:
    """Every API route on the app's own router, at its full path (``add_flat``)."""
    for path, route in api_routes():
        add_flat(app, path, route)


def nested_api_router() -> APIRouter:
    """The same routes as nested routers (how they were installed before ``install_api``); tests compare the two."""
    api_router = APIRouter(prefix=API_PREFIX)
    for router in API_ROUTERS:
        api_router.include_router(router)
    return api_router


__all__ = ["API_PREFIX", "api_routes", "health", "install_api", "nested_api_router"]

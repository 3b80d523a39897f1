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
    """Every API route on the app's own router, at its full path, as ``include_router`` once copied them.

    FastAPI 0.165 includes a router lazily: each request walks the nested routers, matching the chosen one's routes
    twice and re-checking every router's version on the way, which cost more CPU than a one-row read's own work
    (docs/decisions.md, "Reads: the API's routes flat on the app's router, ..."). The modules still declare their
    routes on their own ``APIRouter``; the schema (``/openapi.json``) is the same."""
    for path, route in api_routes():
        app.router.add_api_route(
            path, route.endpoint, response_model=route.response_model, status_code=route.status_code,
            tags=route.tags, dependencies=route.dependencies, summary=route.summary, description=route.description,
            response_description=route.response_description, responses=route.responses,
            deprecated=route.deprecated, methods=route.methods, operation_id=route.operation_id,
            response_model_include=route.response_model_include, response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none, include_in_schema=route.include_in_schema,
            response_class=route.response_class, name=route.name, route_class_override=type(route),
            callbacks=route.callbacks, openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type)


def nested_api_router() -> APIRouter:
    """The same routes as nested routers (how they were installed before ``install_api``); tests compare the two."""
    api_router = APIRouter(prefix=API_PREFIX)
    for router in API_ROUTERS:
        api_router.include_router(router)
    return api_router


__all__ = ["API_PREFIX", "api_routes", "health", "install_api", "nested_api_router"]

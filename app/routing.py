"""Path operations installed flat on the app's own router (the API's and the pages')."""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

__all__ = ["add_flat"]


def add_flat(app: FastAPI, path: str, route: APIRoute) -> None:
    """``route`` on the app's own router at ``path``, as ``include_router`` once copied it.
    FastAPI 0.165 includes a router lazily: each request walks the nested routers, matching the chosen one's routes
    twice and re-checking every router's version on the way, which cost more CPU than a one-row read's own work
    (docs/decisions.md, "Reads: the API's routes flat on the app's router, ..."). Modules still declare their routes
    on their own ``APIRouter``; the schema (``/openapi.json``) is the same."""
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

"""The API's routes sit flat on the app's own router (app.api.install_api): the same paths, order, schema and
behaviour as the modules' routers included the usual way, without FastAPI's per-request walk through nested routers."""

from __future__ import annotations

from fastapi.routing import APIRoute, iter_route_contexts

import app.main
from app.api import api_routes, health, nested_api_router


def _nested(app_) -> None:
    app_.include_router(health.router)
    app_.include_router(nested_api_router())


def test_flat_routes_give_the_same_schema_and_order(settings, monkeypatch):
    flat = app.main.create_app(settings)
    monkeypatch.setattr(app.main, "install_api", _nested)
    nested = app.main.create_app(settings)
    assert flat.openapi() == nested.openapi()
    assert list(flat.openapi()["paths"]) == list(nested.openapi()["paths"])

    def routes(a):
        return [(c.path, sorted(getattr(c, "methods", None) or [])) for c in iter_route_contexts(a.routes)]

    assert routes(flat) == routes(nested)


def test_every_api_route_is_on_the_apps_own_router(settings):
    a = app.main.create_app(settings)
    own = {(r.path, frozenset(r.methods)) for r in a.router.routes if isinstance(r, APIRoute)}
    wanted = [(path, frozenset(route.methods)) for path, route in api_routes()]
    assert len(wanted) > 80
    assert set(wanted) <= own


def test_a_flat_route_answers_with_its_template_in_the_access_log(client, world, make_need):
    need = make_need()
    r = client.get(f"/api/v1/needs/{need['id']}", headers=world["commission"].headers)
    assert r.status_code == 200 and r.json()["id"] == need["id"]
    r = client.get("/api/v1/needs/0", headers=world["commission"].headers)
    assert r.status_code in (404, 422) and r.headers["content-type"].startswith("application/problem+json")


def test_every_page_is_on_the_apps_own_router_in_module_order(settings):
    from app.web import PAGE_MODULES

    a = app.main.create_app(settings)
    own = [(r.path, frozenset(r.methods)) for r in a.router.routes if isinstance(r, APIRoute)]
    wanted = [(r.path, frozenset(r.methods)) for m in PAGE_MODULES for r in m.router.routes]
    assert len(wanted) > 60
    positions = [own.index(w) for w in wanted]
    assert positions == sorted(positions)  # the pages are tried in the order their modules are listed
    # nothing nested is left to walk: every route of the app is a path operation, a mount or a plain route
    assert not [r for r in a.router.routes if type(r).__name__ not in ("APIRoute", "Mount", "Route", "APIWebSocketRoute")]

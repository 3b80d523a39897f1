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


def _paths(a) -> list[str]:
    """Every route's template filled in, with and without a trailing slash, one segment longer and cut short, plus
    paths no route has."""
    out = {"/", "/x", "/api", "/api/", "/api/v1", "/api/v1/", "/api/v1/nope", "/static", "/static/", "//", "/a//b"}
    for r in a.router.routes:
        fmt = getattr(r, "path_format", None)
        if not fmt:
            continue
        for value in ("1", "x", "1/2"):
            p = fmt
            while "{" in p:
                p = p[:p.index("{")] + value + p[p.index("}") + 1:]
            out |= {p, p + "/", p.rstrip("/") or "/", p + "/extra", p.rsplit("/", 1)[0] or "/"}
    return sorted(out)


def test_the_route_index_shortlists_every_route_the_full_walk_would_try(settings):
    from starlette.routing import Match

    from app.routing import RouteIndex

    a = app.main.create_app(settings)
    index = RouteIndex(a.router)
    paths = _paths(a)
    assert len(paths) > 500
    shortened = 0
    for path in paths:
        variant = (path.rstrip("/") or "/") if path.endswith("/") else path + "/"
        shortlist = index.shortlist(path).routes
        for method in ("GET", "POST", "DELETE"):
            for p in {path, variant}:  # what the walk tries, and what its trailing-slash redirect tries
                scope = {"type": "http", "path": p, "root_path": "", "method": method, "headers": []}
                wanted = [r for r in a.router.routes if r.matches(scope)[0] != Match.NONE]
                assert [r for r in wanted if r not in shortlist] == [], (method, p)
        assert [a.router.routes.index(r) for r in shortlist] == sorted(a.router.routes.index(r) for r in shortlist)
        shortened += len(shortlist) < len(a.router.routes) // 4
    assert shortened > len(paths) * 0.9  # it does shorten: most paths try under a quarter of the routes


def test_the_route_index_answers_as_the_full_walk_does(settings):
    """Status, redirect and media type of the same requests with the index and without it (the stock walk)."""
    from fastapi.testclient import TestClient

    indexed = app.main.create_app(settings)
    walked = app.main.create_app(settings)
    walked.router.middleware_stack = walked.router.app
    assert indexed.router.middleware_stack != indexed.router.app
    paths = [p for p in _paths(indexed) if "/1/2" not in p][::3]
    with TestClient(indexed, follow_redirects=False) as ci, TestClient(walked, follow_redirects=False) as cw:
        for path in paths:
            for method in ("GET", "DELETE"):
                ri, rw = ci.request(method, path), cw.request(method, path)
                assert (ri.status_code, ri.headers.get("location"), ri.headers.get("content-type")) == \
                       (rw.status_code, rw.headers.get("location"), rw.headers.get("content-type")), (method, path)
    for a in (indexed, walked):
        a.state.engine.dispose()


def test_a_route_added_after_start_up_is_found(settings):
    from fastapi.testclient import TestClient

    a = app.main.create_app(settings)
    with TestClient(a) as c:
        assert c.get("/bench/late").status_code == 404

        @a.get("/bench/late")
        async def late() -> dict[str, str]:
            return {"late": "yes"}

        assert c.get("/bench/late").json() == {"late": "yes"}
    a.state.engine.dispose()


def test_the_route_index_keeps_the_trailing_slash_redirect_both_ways():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from app.routing import index_routes

    def make():
        a = FastAPI()
        a.get("/a/")(lambda: "a")
        a.get("/a/{x}")(lambda x: x)
        a.get("/b")(lambda: "b")
        a.post("/c/{x}/d")(lambda x: x)
        return a

    indexed, walked = make(), make()
    index_routes(indexed)
    ci, cw = TestClient(indexed, follow_redirects=False), TestClient(walked, follow_redirects=False)
    for method, path in [("GET", "/a"), ("GET", "/a/"), ("GET", "/a/1"), ("GET", "/b/"), ("GET", "/b"),
                         ("GET", "/c/1/d"), ("POST", "/c/1/d/"), ("GET", "/nope"), ("GET", "/")]:
        ri, rw = ci.request(method, path), cw.request(method, path)
        assert (ri.status_code, ri.headers.get("location"), ri.text) == \
               (rw.status_code, rw.headers.get("location"), rw.text), (method, path)
    assert ci.get("/a").status_code == 307 and ci.get("/b/").status_code == 307
    assert ci.get("/c/1/d").status_code == 405

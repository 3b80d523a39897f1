"""Property-based fuzzing of the whole OpenAPI surface with schemathesis, in-process against the ASGI app.

Every documented operation is exercised with generated path, query, header and body values (valid and invalid),
as one of several personas, against a seeded world so that path ids sometimes hit real rows. Whatever comes in:

* the server never answers 5xx;
* every 4xx/5xx is RFC 9457 problem+json (``type``, ``title``, ``status`` equal to the HTTP status, ``detail``;
  422s also carry ``errors: [{field, message, ...}]``);
* responses conform to the documented schema (body schema and content type).

SQLite only: the point is the HTTP contract, not the backend.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.services.analytics import DATE_MAX, DATE_MIN
from tests.conftest import RF_CAPABILITY, TSP_NEED

PROBLEM = "application/problem+json"
PERSONAS = ("admin", "hospital", "company", "commission", "anonymous")
# Examples per operation (~25 operations). Raise it for a deeper hunt: CLINMATCH_FUZZ_EXAMPLES=300 pytest ...
MAX_EXAMPLES = int(os.environ.get("CLINMATCH_FUZZ_EXAMPLES", "50"))
# Random by default, so that every run explores new inputs; a failure prints a curl command that reproduces it.
DERANDOMIZE = os.environ.get("CLINMATCH_FUZZ_DERANDOMIZE", "") == "1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def db_url(sqlite_url) -> str:
    """SQLite only here (overrides the conftest fixture parametrised over both backends)."""
    return sqlite_url


@pytest.fixture
def seeded(client, world) -> dict[str, list[int]]:
    """A few real rows of every kind, created through the API; returns the real ids per path parameter."""

    def post(path: str, body: dict, persona: str) -> dict:
        r = client.post(path, json=body, headers=world[persona].headers)
        assert r.status_code == 201, r.text
        return r.json()

    needs = [
        post("/api/v1/needs", {**TSP_NEED, "status": "open"}, "hospital")["id"],
        post("/api/v1/needs", {**TSP_NEED, "title": "Draft need", "tracks": ["imaging"]}, "hospital")["id"],
        post("/api/v1/needs", {**TSP_NEED, "confidentiality": "anonymous", "status": "open"}, "hospital_b")["id"],
    ]
    caps = [
        post("/api/v1/capabilities", RF_CAPABILITY, "company")["id"],
        post("/api/v1/capabilities", {**RF_CAPABILITY, "title": "Imaging AI", "tracks": ["imaging"]},
             "company_b")["id"],
        post("/api/v1/capabilities", {**RF_CAPABILITY, "kind": "service", "title": "Ultrafast laser"}, "lab")["id"],
    ]
    post("/api/v1/notes", {"entity": "need", "entity_id": needs[0], "body": "follow up"}, "commission")
    # Spare users and tokens the fuzzer may deactivate or revoke without locking the personas out.
    spare_users = [
        post("/api/v1/users", {"email": f"spare{i}@example.org", "role": "company_staff",
                               "organisation_id": world["company"].org_id}, "admin")["id"]
        for i in range(2)
    ]
    spare_tokens = [post(f"/api/v1/users/{u}/tokens", {"name": "spare"}, "admin")["id"] for u in spare_users]
    return {
        "need_id": needs,
        "cap_id": caps,
        "org_id": sorted(world.orgs.values()),
        "user_id": spare_users + [world[p].user_id for p in ("admin", "hospital", "company")],
        "token_id": spare_tokens,
        "_spare_user_id": spare_users,
    }


def assert_problem(response) -> None:
    """Every error is problem+json whose ``status`` is the HTTP status."""
    status = response.status_code
    ctype = response.headers.get("content-type", "")
    if isinstance(ctype, list):
        ctype = ctype[0]
    assert ctype.startswith(PROBLEM), f"{status} with content-type {ctype!r}: {response.text[:300]}"
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    for key in ("type", "title", "status", "detail"):
        assert key in body, f"problem lacks {key!r}: {body}"
    assert body["status"] == status, f"problem status {body['status']!r} but HTTP {status}: {body}"
    assert isinstance(body["type"], str) and isinstance(body["title"], str) and isinstance(body["detail"], str), body
    if status == 422:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, f"422 without errors: {body}"
        for e in errors:
            assert isinstance(e, dict) and isinstance(e.get("field"), str) and isinstance(e.get("message"), str), body


def _aim(case, persona: str, real_id: int | None, if_match: str | None, world, seeded) -> dict[str, str]:
    """Point path ids at real rows (sometimes), protect the personas, and choose the caller; returns the headers."""
    if real_id is not None:
        for name in list(case.path_parameters or {}):
            ids = seeded.get(name)
            if ids:
                case.path_parameters[name] = ids[real_id % len(ids)]
    # Never deactivate a persona, revoke its token or all of its access: that would turn the rest of the run into 401s.
    method = case.method.upper()
    if (method == "PATCH" and case.path.endswith("/users/{user_id}")
            and case.path_parameters.get("user_id") not in seeded["_spare_user_id"]):
        case.path_parameters["user_id"] = seeded["_spare_user_id"][0]
    if method == "POST" and case.path.endswith("/users/{user_id}/revoke-sessions"):
        case.path_parameters["user_id"] = seeded["_spare_user_id"][0]
    if method == "DELETE" and case.path.endswith("/tokens/{token_id}"):
        case.path_parameters["token_id"] = seeded["token_id"][(real_id or 0) % len(seeded["token_id"])]
    headers = {}
    if persona != "anonymous":  # otherwise keep whatever Authorization header the generator made up (or none)
        headers.update(world[persona].headers)
    if if_match is not None and method == "PATCH":
        headers["If-Match"] = if_match
    return headers


def _fuzz_operation(operation, world, seeded) -> None:
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases, persona=st.sampled_from(PERSONAS), real_id=st.none() | st.integers(0, 1000),
           if_match=st.sampled_from([None, '"1"', 'W/"2"', '"x"']))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
              suppress_health_check=list(HealthCheck))
    def run(case, persona, real_id, if_match):
        headers = _aim(case, persona, real_id, if_match, world, seeded)
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if response.status_code >= 400:
            try:
                assert_problem(response)
            except AssertionError as e:
                raise AssertionError(f"{e}\nReproduce with: {case.as_curl_command(headers=headers)}") from None

    run()


def test_openapi_fuzz(app, world, seeded):
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, count = [], 0
    for result in api.get_all_operations():
        operation = result.ok()  # an invalid operation definition is itself a failure
        count += 1
        try:
            _fuzz_operation(operation, world, seeded)
        except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - report every operation's failure, not the 1st
            failures.append(f"{operation.label}:\n{e}")
    assert count >= 20, f"only {count} operations found in the schema"
    assert not failures, f"{len(failures)} of {count} operations failed:\n\n" + "\n\n".join(failures)


# --- targeted: the analytics filters --------------------------------------------------------------------------------
# The generic run above draws dates near today; the overflow at 9999-12-31 (a day added to the last date) needed the
# extremes. Every analytics operation and the dashboard, with dates from 0001-01-01 to 9999-12-31 and the range's
# edges, and the other filters valid or not: never a 5xx; a date outside the range is a 422 naming it.

EDGE_DATES = [date(1, 1, 1), date(9999, 12, 31), DATE_MIN, DATE_MAX, DATE_MIN - timedelta(days=1),
              DATE_MAX + timedelta(days=1)]
DATES = st.none() | st.sampled_from(EDGE_DATES) | st.dates()
FILTER_VALUES = st.fixed_dictionaries({
    "date_from": DATES, "date_to": DATES,
    "track": st.none() | st.sampled_from(["imaging", "digital_health", "nope"]),
    "region": st.none() | st.sampled_from(["putuo", "jiangsu", "beijing"]),
    "stale_days": st.none() | st.integers(-1, 10**20),
    "format": st.none() | st.sampled_from(["json", "csv", "xml"]),
})


def test_analytics_filters_fuzz(app, client, world, seeded):
    from tests.api.test_input_limits import analytics_paths

    paths = analytics_paths(app) + ["/dashboard", "/dashboard/export/funnel.csv",
                                    "/dashboard/export/breakdowns-month.csv"]
    headers = world["commission"].headers

    @given(path=st.sampled_from(paths), values=FILTER_VALUES)
    @settings(max_examples=MAX_EXAMPLES * 4, deadline=None, database=None, derandomize=DERANDOMIZE,
              suppress_health_check=list(HealthCheck))
    def run(path, values):
        params = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items() if v is not None}
        r = client.get(path, params=params, headers=headers)
        assert r.status_code < 500, f"{path} {params}: {r.status_code} {r.text[:300]}"
        if path.startswith("/api/") and r.status_code >= 400:
            assert_problem(r)
        out = {k for k in ("date_from", "date_to") if k in params and not DATE_MIN <= values[k] <= DATE_MAX}
        if path.startswith("/api/") and out:
            assert r.status_code == 422 and out <= {e["field"] for e in r.json()["errors"]}, (path, params)
        elif path.startswith("/dashboard"):
            assert r.status_code == 200, (path, params)  # the page ignores what it cannot use

    run()

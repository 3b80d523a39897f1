"""No N+1: a list endpoint issues the same number of SQL statements whether its page holds 2 rows or 20.

The data: 20 hospitals with one open need each (every other one anonymous), a capability per need from its own
company, an engagement per need led by the world's company (every other one accepted by the hospital, so the
company sees some anonymous hospitals and not others), 20 inbox notifications. Each endpoint is asked for a page of
2 and a page of 20, as the commission, a company and a hospital, and the statements on the app's engine counted.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.db import session_scope
from app.models import Capability, Engagement, Need, Notification, Organisation
from app.models.common import utcnow
from tests.conftest import TSP_NEED

ROWS = 20


@contextmanager
def count_queries(engine):
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def crowded(app, world):
    """ROWS needs from ROWS hospitals, their capabilities, engagements and the company's notifications."""
    now = utcnow()
    with session_scope(app.state.engine) as s:
        for i in range(ROWS):
            hospital = Organisation(kind="hospital", name_en=f"Hospital {i}", region="putuo")
            company = Organisation(kind="enterprise", name_en=f"Company {i}", region="wuxi")
            s.add_all([hospital, company])
            s.flush()
            need = Need(**{k: v for k, v in TSP_NEED.items()}, hospital_id=hospital.id, language="zh",
                        status="open", opened_at=now, confidentiality="anonymous" if i % 2 else "public")
            cap = Capability(organisation_id=company.id, kind="product", title=f"Capability {i}",
                             description="Steerable RF transseptal puncture system", tracks=["interventional_implant"],
                             region="wuxi", language="en")
            s.add_all([need, cap])
            s.flush()
            s.add(Engagement(need_id=need.id, hospital_id=hospital.id, lead_org_id=world.orgs["company"],
                             capability_id=cap.id, proposed_by_org_id=world.orgs["company"],
                             hospital_accepted_at=now if i % 4 < 2 else None))
            s.add(Notification(organisation_id=world.orgs["company"], kind="match", title=f"Match {i}",
                               language="zh", idempotency_key=f"query-count-{i}"))
    return world


ENDPOINTS = [
    ("/api/v1/needs", ("commission", "company")),
    ("/api/v1/capabilities", ("commission", "hospital")),
    ("/api/v1/engagements", ("commission", "company")),
    ("/api/v1/notifications", ("company",)),
    ("/api/v1/audit", ("commission",)),
    ("/api/v1/organisations", ("company",)),
]


@pytest.mark.parametrize("path,personas", ENDPOINTS, ids=[p for p, _ in ENDPOINTS])
def test_list_queries_do_not_grow_with_the_page(app, client, crowded, path, personas):
    for persona in personas:
        headers = crowded[persona].headers
        assert client.get("/api/v1/me", headers=headers).status_code == 200  # the token's last-used write, once
        counts = {}
        for limit in (2, ROWS):
            with count_queries(app.state.engine) as statements:
                r = client.get(path, params={"limit": limit}, headers=headers)
            assert r.status_code == 200, r.text
            assert len(r.json()["items"]) == limit, (persona, r.json()["total"])
            counts[limit] = len(statements)
        assert counts[2] == counts[ROWS], (persona, counts, statements)


def test_anonymous_hospitals_stay_hidden_in_lists(client, crowded):
    """The page-at-once visibility gives the same answer as the one-need rule: a company sees the hospital of an
    anonymous need only on the needs whose hospital accepted it."""
    company = crowded["company"].headers
    listed = {n["id"]: n for n in client.get("/api/v1/needs", params={"limit": 100}, headers=company).json()["items"]}
    engs = client.get("/api/v1/engagements", params={"limit": 100}, headers=company).json()["items"]
    assert len(engs) == ROWS
    for e in engs:
        one = client.get(f"/api/v1/needs/{e['need_id']}", headers=company).json()
        assert listed[e["need_id"]]["hospital_hidden"] == one["hospital_hidden"] == e["hospital_hidden"]
        assert (listed[e["need_id"]]["hospital"] is None) == one["hospital_hidden"]
    assert {e["hospital_hidden"] for e in engs} == {True, False}

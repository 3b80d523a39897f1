"""The conftest's personas plus a shared platform (Putuo) with its own staff, for the industry tests."""

from __future__ import annotations

import pytest

from tests.conftest import Persona


@pytest.fixture
def platform(app, world) -> Persona:
    from app.db import session_scope
    from app.models.organisation import OrganisationCreate
    from app.models.user import TokenCreate, UserCreate
    from app.services import organisations, users

    with session_scope(app.state.engine) as s:
        org = organisations.create(s, None, OrganisationCreate(kind="platform", name_zh="同济医学院公共研发服务平台",
                                                                region="putuo"))
        user = users.create_user(s, None, UserCreate(email="platform@example.org", full_name="platform",
                                                     role="company_staff", organisation_id=org.id))
        _, secret = users.issue_token(s, None, user.id, TokenCreate(name="test"))
        persona = Persona("platform", user.id, org.id, "company_staff", secret)
    world.personas["platform"] = persona
    world.orgs["platform"] = persona.org_id
    return persona


def notifications_of(client, persona: Persona) -> list[dict]:
    r = client.get("/api/v1/notifications", headers=persona.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]

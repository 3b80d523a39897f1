"""Users, roles and tokens: hashed, revocable, with last-used time; only an admin (or the CLI) issues them; the CLI
creates the first admin."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from app.models import ApiToken


def test_tokens_are_stored_hashed_and_last_use_is_recorded(app, client, world):
    r = client.post(f"/api/v1/users/{world['company'].user_id}/tokens", json={"name": "laptop"},
                    headers=world["admin"].headers)
    assert r.status_code == 201
    secret = r.json()["token"]
    assert secret.startswith("cm_") and len(secret) > 40
    with Session(app.state.engine) as s:
        row = s.exec(select(ApiToken).where(ApiToken.id == r.json()["id"])).one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.token_hash, row.prefix) and row.last_used_at is None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()["user"]["id"] == \
        world["company"].user_id
    listed = client.get(f"/api/v1/users/{world['company'].user_id}/tokens", headers=world["company"].headers).json()
    mine = next(t for t in listed if t["id"] == r.json()["id"])
    assert mine["last_used_at"] is not None and "token" not in mine


def test_role_must_fit_the_organisation_kind(client, world):
    r = client.post("/api/v1/users", json={"email": "x@example.org", "role": "hospital_staff",
                                           "organisation_id": world.orgs["company"]}, headers=world["admin"].headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"
    r = client.post("/api/v1/users", json={"email": "company@example.org", "role": "company_staff",
                                           "organisation_id": world.orgs["company"]}, headers=world["admin"].headers)
    assert r.status_code == 409
    r = client.post("/api/v1/users", json={"email": "y@example.org", "role": "company_staff",
                                           "organisation_id": 99999}, headers=world["admin"].headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "organisation_id"


def test_a_token_cannot_mint_tokens_only_an_admin_issues_them(client, world):
    """A stolen token must not be turned into a permanent one: it cannot issue tokens, not even for its own user."""
    company = world["company"]
    for persona, user in (("company", company), ("commission", world["commission"]), ("hospital", company)):
        r = client.post(f"/api/v1/users/{user.user_id}/tokens", json={"name": "mine"}, headers=world[persona].headers)
        assert r.status_code == 403, (persona, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post(f"/api/v1/users/{company.user_id}/tokens", json={"name": "laptop"}, headers=world["admin"].headers)
    assert r.status_code == 201
    # the user still lists and revokes their own tokens
    listed = client.get(f"/api/v1/users/{company.user_id}/tokens", headers=company.headers).json()
    assert r.json()["id"] in [t["id"] for t in listed]
    assert client.delete(f"/api/v1/tokens/{r.json()['id']}", headers=company.headers).status_code == 204
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"}).status_code == 401


def test_past_expiry_is_refused_at_issue(client, world):
    url, admin = f"/api/v1/users/{world['lab'].user_id}/tokens", world["admin"].headers
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    for expires in ("2020-01-01T00:00:00Z", past):
        r = client.post(url, json={"name": "old", "expires_at": expires}, headers=admin)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "expires_at", r.text
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = client.post(url, json={"name": "new", "expires_at": future}, headers=admin)
    assert r.status_code == 201
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"}).status_code == 200


def test_expired_token_is_refused(app, client, world):
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = client.post(f"/api/v1/users/{world['lab'].user_id}/tokens",
                    json={"name": "old", "expires_at": future}, headers=world["admin"].headers)
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    with Session(app.state.engine) as s:  # time passes
        row = s.get(ApiToken, r.json()["id"])
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.add(row)
        s.commit()
    assert client.get("/api/v1/me", headers=auth).status_code == 401


def test_admin_revokes_all_of_a_users_tokens_at_once(client, world):
    lab, admin = world["lab"], world["admin"].headers
    extra = client.post(f"/api/v1/users/{lab.user_id}/tokens", json={"name": "second"}, headers=admin).json()
    url = f"/api/v1/users/{lab.user_id}/revoke-sessions"
    for persona in ("lab", "commission", "hospital"):
        assert client.post(url, headers=world[persona].headers).status_code == 403
    r = client.post(url, headers=admin)
    assert r.status_code == 200 and r.json() == {"tokens_revoked": 2, "sessions_revoked": 0}
    for secret in (lab.token, extra["token"]):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert client.post(url, headers=admin).json()["tokens_revoked"] == 0  # nothing left to revoke
    assert client.post("/api/v1/users/999999/revoke-sessions", headers=admin).status_code == 404
    events = client.get("/api/v1/audit", params={"entity": "user", "entity_id": lab.user_id}, headers=admin).json()
    assert events["items"][0]["action"] == "revoke-sessions"


def test_deactivating_a_user_revokes_its_tokens_for_good(client, world):
    lab, admin = world["lab"], world["admin"].headers
    url = f"/api/v1/users/{lab.user_id}"
    assert client.patch(url, json={"is_active": False}, headers=admin).status_code == 200
    assert client.get("/api/v1/me", headers=lab.headers).status_code == 401
    assert client.patch(url, json={"is_active": True}, headers=admin).status_code == 200
    assert client.get("/api/v1/me", headers=lab.headers).status_code == 401  # reactivation brings no token back
    tokens = client.get(f"{url}/tokens", headers=admin).json()
    assert tokens and all(t["revoked_at"] is not None for t in tokens)


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # the tests read the exit code


def test_cli_creates_first_admin_and_token(sqlite_url):
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    r = _cli(sqlite_url, "users", "create", "root@example.org", "--role", "admin", "--org", "clinmatch operations",
             "--create-org")
    assert r.returncode == 0, r.stderr
    r = _cli(sqlite_url, "tokens", "create", "root@example.org")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip().splitlines()[0]
    r = _cli(sqlite_url, "users", "create", "bad@example.org", "--role", "hospital_staff", "--org", "nowhere")
    assert r.returncode == 2 and "no organisation" in r.stderr
    app = create_app(Settings(database_url=sqlite_url, embedder="hashing"))
    with TestClient(app) as c:
        me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()
        assert me["user"]["role"] == "admin" and me["organisation"]["name_en"] == "clinmatch operations"
        tok_id = c.get(f"/api/v1/users/{me['user']['id']}/tokens",
                       headers={"Authorization": f"Bearer {secret}"}).json()[0]["id"]
    assert _cli(sqlite_url, "tokens", "revoke", str(tok_id)).returncode == 0
    with TestClient(app) as c:
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert _cli(sqlite_url, "tokens", "revoke", "99999").returncode == 2
    r = _cli(sqlite_url, "users", "revoke-sessions", "root@example.org")
    assert r.returncode == 0 and "0 token(s)" in r.stdout, r.stderr

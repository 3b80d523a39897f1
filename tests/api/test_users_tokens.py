"""Users, roles and tokens: hashed, revocable, with last-used time; the CLI creates the first admin."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from sqlmodel import Session, select

from app.models import ApiToken


def test_tokens_are_stored_hashed_and_last_use_is_recorded(app, client, world):
    r = client.post(f"/api/v1/users/{world['company'].user_id}/tokens", json={"name": "laptop"},
                    headers=world["company"].headers)
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


def test_expired_token_is_refused(client, world):
    r = client.post(f"/api/v1/users/{world['lab'].user_id}/tokens",
                    json={"name": "old", "expires_at": "2020-01-01T00:00:00Z"}, headers=world["admin"].headers)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"}).status_code == 401


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_cli_creates_first_admin_and_token(sqlite_url):
    from app.config import Settings
    from app.main import create_app
    from fastapi.testclient import TestClient

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

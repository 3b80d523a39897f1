"""Document uploads keep their own size limit (not the JSON body limit), and their names lose bidirectional
control characters (a name that reads "invoiceexe.PDF" but is an .exe)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def settings(db_url, tmp_path):
    """A JSON body limit far below the attachment limit."""
    from app.config import Settings

    return Settings(database_url=db_url, embedder="hashing", model_dir=Path("var/models"),
                    attachments_dir=tmp_path / "attachments", max_attachment_bytes=64 * 1024, max_json_bytes=4096)


def test_uploads_keep_their_limit_and_names_lose_bidi_controls(api, client, engagement, settings):
    eid = engagement("intent_signed")["id"]
    m = api.milestone(eid, "training_session", None).json()
    url = f"/api/v1/engagements/{eid}/milestones/{m['id']}/documents"
    pdf = b"%PDF-1.7\n" + b"x" * 60_000 + b"\n%%EOF"  # over the JSON limit, under the attachment limit
    name = "\u200finvoice\u202eFDP.exe\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u200e\u061c"
    r = client.post(url, files={"file": (name, pdf, "application/pdf")}, headers=api.h("hospital"))
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "invoiceFDP.exe"
    r = client.post(url, files={"file": ("日本語 ü.pdf", pdf, "application/pdf")}, headers=api.h("hospital"))
    assert r.json()["filename"] == "日本語 ü.pdf"
    # far over the attachment limit: refused from Content-Length, with the attachment limit named
    r = client.post(url, files={"file": ("big.pdf", b"%PDF-" + b"x" * 200_000, "application/pdf")},
                    headers=api.h("hospital"))
    assert r.status_code == 413 and r.json()["max_bytes"] == settings.max_attachment_bytes
    # and JSON is held to its own limit
    r = client.post(f"/api/v1/engagements/{eid}/milestones", headers=api.h("hospital"),
                    json={"kind": "training_session", "title": "x" * 5000})
    assert r.status_code == 413 and r.json()["max_bytes"] == 4096

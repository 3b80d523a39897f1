"""Helpers for the partnership workflow tests: an engagement carried to any state through the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.workflow.states import PATHS, Pathway
from app.workflow.vocab import EVIDENCE_OWNER, MilestoneKind, Owner
from tests.conftest import TODAY

# The milestones each guarded step needs, as (kind, reference) — recorded just before entering that state.
MILESTONES_FOR = {
    "animal_trial": [("animal_protocol", "AP-2024-017"), ("iacuc_approval", "IACUC-TJ-2024-0311")],
    "clinical_evaluation": [("animal_trial_report", "ATR-2024-05"), ("clinical_ethics_approval", "PTZX-EC-2024-088")],
    "registration": [("clinical_evaluation_report", "CER-2025-01")],
    "clinical_use": [("registration_certificate", "国械注准20253070123")],
}
# Where another pathway's guards ask for something else (written out by hand, not read from app.workflow.guards).
PATHWAY_MILESTONES = {
    "samd": {"clinical_evaluation": [("clinical_ethics_approval", "PTZX-EC-2024-088")]},
    "ivd": {"clinical_performance": [("clinical_ethics_approval", "PTZX-EC-2024-089")]},
    "class_i": {"clinical_use": [("filing_record", "沪械备20240012号")]},
    "registered": {"hospital_admission": [("registration_certificate", "国械注准20253070123")],
                   "clinical_use": [("admission_approval", None)]},
}


def milestones_for(pathway: str, state: str) -> list[tuple[str, str | None]]:
    return PATHWAY_MILESTONES.get(pathway, {}).get(state, MILESTONES_FOR.get(state, []))


@pytest.fixture
def settings(db_url, tmp_path):
    """The conftest's settings, with attachments in the test's own folder and a small size limit."""
    from app.config import Settings

    return Settings(database_url=db_url, embedder="hashing", model_dir=Path("var/models"),
                    attachments_dir=tmp_path / "attachments", max_attachment_bytes=64 * 1024)


class Api:
    def __init__(self, client, world):
        self.client, self.world = client, world

    def h(self, persona: str) -> dict:
        return self.world[persona].headers

    def get(self, eid: int, persona: str = "hospital") -> dict:
        r = self.client.get(f"/api/v1/engagements/{eid}", headers=self.h(persona))
        assert r.status_code == 200, r.text
        return r.json()

    def propose(self, need_id: int, cap_id: int, persona: str = "hospital", **extra):
        return self.client.post("/api/v1/engagements", json={"need_id": need_id, "capability_id": cap_id, **extra},
                                headers=self.h(persona))

    def accept(self, eid: int, persona: str, version: int | None = None):
        version = version or self.get(eid)["version"]
        return self.client.post(f"/api/v1/engagements/{eid}/accept", json={"version": version},
                                headers=self.h(persona))

    def move(self, eid: int, target: str, persona: str = "hospital", comment: str = "", version: int | None = None,
             **extra):
        version = version or self.get(eid)["version"]
        return self.client.post(f"/api/v1/engagements/{eid}/transitions",
                                json={"target": target, "comment": comment, "version": version, **extra},
                                headers=self.h(persona))

    def milestone(self, eid: int, kind: str, reference: str | None = None, persona: str = "hospital", **extra):
        body = {"kind": kind, "title": f"{kind} {reference or ''}".strip(), "occurred_on": TODAY,
                "reference": reference, **extra}
        return self.client.post(f"/api/v1/engagements/{eid}/milestones", json=body, headers=self.h(persona))

    def participant(self, eid: int, org_id: int, role: str, persona: str = "hospital", join: bool = True):
        """Invite ``org_id``; with ``join`` its staff accept the invitation (it takes part from then on)."""
        r = self.client.post(f"/api/v1/engagements/{eid}/participants",
                             json={"organisation_id": org_id, "role": role, "version": self.get(eid)["version"]},
                             headers=self.h(persona))
        if join and r.status_code == 200:
            self.join(eid, org_id, role)
        return r

    def owner(self, eid: int, kind: str) -> str:
        """The persona that certifies evidence of ``kind`` (the hospital for the rest: it records for any party)."""
        owner = EVIDENCE_OWNER.get(MilestoneKind(kind))
        if owner == Owner.lead:
            return "company"
        if owner == Owner.animal_facility:
            facility = any(p["role"] == "animal_facility" and p["status"] == "active"
                           for p in self.get(eid)["participants"])
            return "lab" if facility else "company"
        return "hospital"

    def invitation(self, eid: int, org_id: int, role: str) -> dict:
        invitee = next(p for p in self.world.personas.values() if p.org_id == org_id)
        r = self.client.get("/api/v1/invitations", headers=invitee.headers)
        assert r.status_code == 200, r.text
        return next(i for i in r.json()["items"] if i["engagement_id"] == eid and i["role"] == role)

    def join(self, eid: int, org_id: int, role: str, accept: bool = True):
        invitee = next(p for p in self.world.personas.values() if p.org_id == org_id)
        inv = self.invitation(eid, org_id, role)
        r = self.client.post(f"/api/v1/invitations/{inv['id']}/{'accept' if accept else 'decline'}",
                             headers=invitee.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def carry_to(self, eid: int, target: str, persona: str = "hospital", pathway: str | None = None) -> dict:
        """Move along the engagement's pathway (``pathway``: chosen with the step into intent_signed) to
        ``target``, recording what each guard needs on the way."""
        current = self.get(eid)["state"]
        if current == "proposed":
            eng = self.get(eid)
            if eng["lead_accepted_at"] is None:
                assert self.accept(eid, "company").status_code == 200
            if eng["hospital_accepted_at"] is None:
                assert self.accept(eid, "hospital").status_code == 200
        name = pathway or self.get(eid)["pathway"]
        path = PATHS[Pathway(name)]
        for state in path[path.index(current) + 1: path.index(target) + 1]:
            if state == "animal_trial" and not any(p["role"] == "animal_facility"
                                                   for p in self.get(eid)["participants"]):
                r = self.participant(eid, self.world.orgs["lab"], "animal_facility")
                assert r.status_code == 200, r.text
            for kind, ref in milestones_for(name, state):
                r = self.milestone(eid, kind, ref, self.owner(eid, kind))
                assert r.status_code == 201, (name, r.text)
            extra = {"pathway": pathway} if pathway and state == "intent_signed" else {}
            r = self.move(eid, state, persona, **extra)
            assert r.status_code == 200, r.text
        return self.get(eid)


@pytest.fixture
def api(client, world) -> Api:
    return Api(client, world)


@pytest.fixture
def engagement(api, make_need, make_capability):
    """A factory: a fresh open need of 'hospital' and a capability of 'company', proposed by ``by``, carried to
    ``state``. The capability lists no animal_trial stage, so the animal facility must come from a participant."""

    def _make(state: str = "proposed", by: str = "hospital", **need) -> dict:
        n = make_need(status="open", **need)
        c = make_capability(stages=["rnd", "prototyping"])
        r = api.propose(n["id"], c["id"], by)
        assert r.status_code == 201, r.text
        eng = r.json()
        if state != "proposed":
            eng = api.carry_to(eng["id"], state)
        return eng

    return _make

"""Matches through the API: persisted when a need opens, refreshed on change, filtered, explained, with feedback.

These tests use the deterministic hashing embedder (the matcher's own tests and the demo test use the real model):
what is checked here is the service's behaviour, not ranking quality.
"""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import Embedding, MatchRecord

ABLATION = {"kind": "technology", "title": "Irreversible electroporation for liver tumours near vessels",
            "description": "Non-thermal ablation that spares bile ducts and large vessels.",
            "tracks": ["therapy_monitoring"], "stages": ["clinical_evaluation"]}
LASER = {"kind": "technology", "title": "超快激光微加工穿刺针针尖",
         "description": "飞秒激光加工房间隔穿刺针的可调弯针尖微结构，用于介入器械研发。",
         "tracks": ["interventional_implant"], "stages": ["rnd", "prototyping"]}


def _world_with_capabilities(make_capability):
    rf = make_capability()  # company (enterprise, putuo): steerable RF transseptal puncture
    abl = make_capability("company_b", **ABLATION)  # enterprise, wuxi
    laser = make_capability("lab", **LASER)  # lab, shanghai
    return rf, abl, laser


def test_opening_a_need_persists_explained_matches(app, client, world, make_need, make_capability):
    rf, abl, laser = _world_with_capabilities(make_capability)
    need = make_need()  # draft: nothing persisted yet
    with Session(app.state.engine) as s:
        assert s.exec(select(MatchRecord).where(MatchRecord.need_id == need["id"])).all() == []
        assert s.exec(select(Embedding).where(Embedding.entity == "need")).one().entity_id == need["id"]
    r = client.patch(f"/api/v1/needs/{need['id']}", json={"status": "open", "version": 1},
                     headers=world["hospital"].headers)
    assert r.status_code == 200
    with Session(app.state.engine) as s:
        rows = s.exec(select(MatchRecord).where(MatchRecord.need_id == need["id"])).all()
    assert {r.capability_id for r in rows} == {rf["id"], abl["id"], laser["id"]}
    assert all(r.explanation["summary"] and r.signals for r in rows)

    res = client.get(f"/api/v1/needs/{need['id']}/matches", headers=world["hospital"].headers)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["model"]["name"].startswith("hashing")
    items = body["items"]
    assert [i["rank"] for i in items] == [1, 2, 3]
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    assert items[-1]["capability"]["id"] == abl["id"]  # shares neither words, track nor concepts
    top = items[0]
    assert set(top["signals"]) >= {"lexical", "structured"}
    structured = {c["condition"]: c for c in top["explanation"]["structured"]}
    assert structured["tracks"]["holds"] == "yes"


def test_explanations_quote_only_the_texts(client, world, make_need, make_capability):
    _world_with_capabilities(make_capability)
    need = make_need(status="open")
    items = client.get(f"/api/v1/needs/{need['id']}/matches", headers=world["hospital"].headers).json()["items"]
    need_text = " ".join(need[k] for k in ("title", "description", "clinical_problem", "current_practice",
                                           "shortcomings", "affected_population", "desired_outcome")).lower()
    for item in items:
        cap_text = (item["capability"]["title"] + " " + item["capability"]["description"]).lower()
        for concept in item["explanation"]["shared_concepts"]:
            for q in concept["need_terms"]:
                assert q["text"].lower() in need_text, q
            for q in concept["capability_terms"]:
                assert q["text"].lower() in cap_text, q


def test_match_filters(client, world, make_need, make_capability):
    rf, abl, laser = _world_with_capabilities(make_capability)
    need = make_need(status="open")
    url = f"/api/v1/needs/{need['id']}/matches"
    h = world["hospital"].headers

    def ids(**params):
        r = client.get(url, params=params, headers=h)
        assert r.status_code == 200, r.text
        return {i["capability"]["id"] for i in r.json()["items"]}

    assert ids(partner_type="lab") == {laser["id"]}
    assert ids(region="shanghai") == {rf["id"], laser["id"]}  # Putuo is in Shanghai
    assert ids(region="wuxi") == {abl["id"]}
    assert ids(stage="prototyping") == {rf["id"], laser["id"]}
    assert ids(hard="true") == {rf["id"]}  # the need wants an enterprise in Putuo
    assert ids(min_score=1.0) == set()
    assert len(ids(limit=1)) == 1
    r = client.get(url, params={"min_score": 2}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "min_score"


def test_who_may_see_matches(client, world, make_need, make_capability):
    rf, _, _ = _world_with_capabilities(make_capability)
    need = make_need(status="open")
    expected = {"hospital": 200, "commission": 200, "admin": 200, "hospital_b": 404, "company": 403,
                "company_b": 403, "lab": 403}
    for persona, code in expected.items():
        assert client.get(f"/api/v1/needs/{need['id']}/matches", headers=world[persona].headers).status_code == code
    expected = {"company": 200, "commission": 200, "admin": 200, "company_b": 404, "lab": 404, "hospital": 403,
                "hospital_b": 403}
    for persona, code in expected.items():
        assert client.get(f"/api/v1/capabilities/{rf['id']}/matches",
                          headers=world[persona].headers).status_code == code, persona


def test_company_sees_ranked_open_needs_with_anonymity(client, world, make_need, make_capability):
    rf, _, _ = _world_with_capabilities(make_capability)
    public = make_need(status="open")
    anonymous = make_need("hospital_b", status="open", confidentiality="anonymous", title="匿名：房间隔穿刺困难")
    make_need(title="草稿不应出现")
    r = client.get(f"/api/v1/capabilities/{rf['id']}/matches", headers=world["company"].headers)
    assert r.status_code == 200
    items = {i["need"]["id"]: i for i in r.json()["items"]}
    assert set(items) == {public["id"], anonymous["id"]}
    assert items[anonymous["id"]]["need"]["hospital"] is None and items[anonymous["id"]]["need"]["hospital_hidden"]
    assert items[public["id"]]["need"]["hospital"]["id"] == world["hospital"].org_id
    as_commission = client.get(f"/api/v1/capabilities/{rf['id']}/matches", headers=world["commission"].headers).json()
    assert any(i["need"]["hospital"] for i in as_commission["items"] if i["need"]["id"] == anonymous["id"])


def test_declined_pair_is_not_suggested_to_that_party_again(client, world, make_need, make_capability):
    rf, _abl, laser = _world_with_capabilities(make_capability)
    need = make_need(status="open")
    h, c = world["hospital"].headers, world["company"].headers
    r = client.post("/api/v1/matches/feedback", json={"need_id": need["id"], "capability_id": rf["id"],
                                                      "verdict": "not_interested"}, headers=h)
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-input")
    r = client.post("/api/v1/matches/feedback", json={"need_id": need["id"], "capability_id": rf["id"],
                                                      "verdict": "not_interested", "reason": "other"}, headers=h)
    assert r.status_code == 422  # 'other' needs a comment
    r = client.post("/api/v1/matches/feedback", json={"need_id": need["id"], "capability_id": rf["id"],
                                                      "verdict": "not_interested", "reason": "too_early"}, headers=h)
    assert r.status_code == 201 and r.json()["party"] == "hospital"
    hospital_view = client.get(f"/api/v1/needs/{need['id']}/matches", headers=h).json()["items"]
    assert rf["id"] not in {i["capability"]["id"] for i in hospital_view}
    # The company's view is its own: it still sees the need, with the hospital's verdict.
    company_view = client.get(f"/api/v1/capabilities/{rf['id']}/matches", headers=c).json()["items"]
    assert [i["feedback"] for i in company_view if i["need"]["id"] == need["id"]] == [{"hospital": "not_interested"}]
    r = client.post("/api/v1/matches/feedback", json={"need_id": need["id"], "capability_id": rf["id"],
                                                      "verdict": "interested"}, headers=c)
    assert r.status_code == 201 and r.json()["party"] == "company"
    r = client.post("/api/v1/matches/feedback", json={"need_id": need["id"], "capability_id": laser["id"],
                                                      "verdict": "interested"}, headers=c)
    assert r.status_code == 404  # not the company's capability
    # The commission sees all feedback for tuning; a party sees its own.
    assert client.get("/api/v1/matches/feedback", headers=world["commission"].headers).json()["total"] == 2
    assert client.get("/api/v1/matches/feedback", headers=c).json()["total"] == 1
    # The latest verdict of a party replaces its earlier one.
    r = client.post("/api/v1/matches/feedback", json={"need_id": need["id"], "capability_id": rf["id"],
                                                      "verdict": "interested"}, headers=h)
    assert r.status_code == 201
    assert rf["id"] in {i["capability"]["id"] for i in
                        client.get(f"/api/v1/needs/{need['id']}/matches", headers=h).json()["items"]}


def test_changes_refresh_matches_and_vectors_only_when_text_changes(app, client, world, make_need, make_capability):
    rf, _abl, _laser = _world_with_capabilities(make_capability)
    need = make_need(status="open")
    h, c = world["hospital"].headers, world["company"].headers

    def vec_row(entity, id_):
        with Session(app.state.engine) as s:
            r = s.exec(select(Embedding).where(Embedding.entity == entity, Embedding.entity_id == id_)).one()
            return r.text_hash, r.created_at

    before = vec_row("need", need["id"])
    client.patch(f"/api/v1/needs/{need['id']}", json={"department": "心内科", "version": 1}, headers=h)
    assert vec_row("need", need["id"]) == before  # no text change: not recomputed
    client.patch(f"/api/v1/needs/{need['id']}", json={"description": need["description"] + " 需要动物实验。",
                                                      "version": 2}, headers=h)
    assert vec_row("need", need["id"])[0] != before[0]
    # Archiving a capability removes it from the ranking and from the persisted matches of open needs.
    client.patch(f"/api/v1/capabilities/{rf['id']}", json={"status": "archived", "version": 1}, headers=c)
    items = client.get(f"/api/v1/needs/{need['id']}/matches", headers=h).json()["items"]
    assert rf["id"] not in {i["capability"]["id"] for i in items}
    with Session(app.state.engine) as s:
        assert s.exec(select(MatchRecord).where(MatchRecord.capability_id == rf["id"])).all() == []
    # A new capability is matched with open needs at once.
    new = make_capability("company_b", title="Deflectable transseptal sheath", tracks=["interventional_implant"])
    with Session(app.state.engine) as s:
        assert s.exec(select(MatchRecord).where(MatchRecord.capability_id == new["id"],
                                                MatchRecord.need_id == need["id"])).first() is not None


def test_index_picks_up_writes_from_other_processes(app, client, world, make_need):
    """A capability written by another worker (here: the service, bypassing this process's index) is ranked."""
    from app.db import session_scope
    from app.models.capability import CapabilityCreate
    from app.models.enums import OrgKind, Role
    from app.policy import Actor
    from app.services import capabilities

    need = make_need(status="open")
    actor = Actor(user_id=world["lab"].user_id, organisation_id=world["lab"].org_id, org_kind=OrgKind.lab,
                  role=Role.company_staff)
    with session_scope(app.state.engine) as s:
        cap = capabilities.create_capability(s, actor, CapabilityCreate(**LASER))
        cap_id = cap.id
    items = client.get(f"/api/v1/needs/{need['id']}/matches", headers=world["hospital"].headers).json()["items"]
    assert cap_id in {i["capability"]["id"] for i in items}


def test_a_restarted_index_reads_stored_analyses_instead_of_tokenising(app, client, world, make_need, make_capability):
    rf, abl, laser = _world_with_capabilities(make_capability)
    make_need()
    with Session(app.state.engine) as s:
        rows = s.exec(select(Embedding)).all()
    assert rows and all(r.analysis for r in rows)  # stored with the vectors, in the same transaction
    from app.services.matching.index import build_index

    fresh = build_index(app.state.match_index.matcher.embedder)
    analysed = []
    original = fresh.matcher.analyser.analyse
    fresh.matcher.analyser.analyse = lambda doc: analysed.append(doc.id) or original(doc)
    fresh.sync(app.state.engine)
    assert sorted(fresh.matcher.capability_ids()) == sorted(str(c["id"]) for c in (rf, abl, laser))
    assert analysed == []  # nothing re-tokenised: every document came with its stored analysis


def test_index_sync_reads_only_new_rows_and_still_catches_late_commits(app, client, world, make_capability,
                                                                       monkeypatch):
    from datetime import timedelta

    from sqlalchemy import event, update

    from app.models import Capability
    from app.services.matching import index as svc

    rf, abl, laser = _world_with_capabilities(make_capability)
    index = svc.build_index(app.state.match_index.matcher.embedder)
    engine = app.state.engine
    index.sync(engine)
    assert len(index.matcher.capability_ids()) == 3
    rows_read = []
    listener = lambda *a: rows_read.append(a[2])
    event.listen(engine, "before_cursor_execute", listener)
    try:
        monkeypatch.setattr(svc, "OVERLAP_CHECK_SECONDS", 3600.0)
        index.sync(engine)  # steady state: only rows stamped at or after the newest seen are asked for
        assert not any("count(" in s.lower() for s in rows_read)
        # a transaction that committed late: its row is stamped before the newest row the index has read
        with Session(engine) as s:
            stamp = s.get(Capability, abl["id"]).updated_at
            s.execute(update(Capability).where(Capability.id == abl["id"]).values(
                version=Capability.version + 1, status="archived", updated_at=stamp - timedelta(seconds=30)))
            s.commit()
        index.sync(engine)
        assert str(abl["id"]) in index.matcher.capability_ids()  # not seen yet: the window is not checked each time
        monkeypatch.setattr(svc, "OVERLAP_CHECK_SECONDS", 0.0)
        index.sync(engine)  # the window's count and version sum differ from what was read: rescanned
        assert sorted(index.matcher.capability_ids()) == sorted([str(rf["id"]), str(laser["id"])])
    finally:
        event.remove(engine, "before_cursor_execute", listener)


# --- calibrated confidence and bands ------------------------------------------------------------------------------

REHAB = {"title": "脑卒中上肢康复训练依从性差", "description": "出院后上肢康复训练难以坚持，缺少居家监测与反馈。",
         "tracks": ["rehab_eldercare"], "partner_types": ["enterprise"], "regions": []}


def calibrate_for_hashing(app, cut: float = 0.38) -> None:
    """A calibration for the hashing embedder (the shipped one applies to the real model only): the confidence rises
    steeply through fused score ``cut``. With the sample texts: the TSP need's two puncture capabilities score
    0.46 / 0.41 (strong), the electroporation one 0.10 (weak); the rehabilitation need's best is 0.35 (weak)."""
    from matching.calibration import Calibrator

    app.state.match_index.matcher.calibrator = Calibrator(["score"], [0.0], [1.0], [60.0], -60.0 * cut)


def test_weak_matches_are_hidden_by_default_and_shown_with_include_weak(app, client, world, make_need,
                                                                       make_capability):
    calibrate_for_hashing(app)
    rf, abl, laser = _world_with_capabilities(make_capability)
    need = make_need(status="open")
    url, h = f"/api/v1/needs/{need['id']}/matches", world["hospital"].headers

    body = client.get(url, headers=h).json()
    assert {i["capability"]["id"] for i in body["items"]} == {rf["id"], laser["id"]}
    assert all(i["band"] in ("strong", "possible") and 0 <= i["confidence"] <= 1 for i in body["items"])
    assert body["no_fit"] is False and body["no_fit_reason"] is None and body["hidden_weak"] == 1

    every = client.get(url, params={"include_weak": True}, headers=h).json()
    assert [i["capability"]["id"] for i in every["items"]][-1] == abl["id"]
    weak = every["items"][-1]
    assert weak["band"] == "weak" and weak["confidence"] < 0.3 and weak["rank"] == 3
    assert every["hidden_weak"] == 0
    # shown or not, a match keeps its rank and confidence
    assert [(i["rank"], i["confidence"]) for i in every["items"][:2]] == \
        [(i["rank"], i["confidence"]) for i in body["items"]]

    # persisted with the need: its confidence and band, for the notifications
    with Session(app.state.engine) as s:
        rows = {r.capability_id: r for r in s.exec(select(MatchRecord).where(MatchRecord.need_id == need["id"]))}
    assert rows[abl["id"]].band == "weak" and rows[rf["id"]].band == "strong"
    assert rows[rf["id"]].confidence > rows[abl["id"]].confidence

    # the capability's side: the electroporation company's only open need is a weak match
    h_b = world["company_b"].headers
    side = client.get(f"/api/v1/capabilities/{abl['id']}/matches", headers=h_b).json()
    assert side["items"] == [] and side["no_fit"] is True and side["hidden_weak"] == 1
    side = client.get(f"/api/v1/capabilities/{abl['id']}/matches", params={"include_weak": "true"},
                      headers=h_b).json()
    assert [(i["need"]["id"], i["band"]) for i in side["items"]] == [(need["id"], "weak")]


def test_a_need_nothing_fits_says_so(app, client, world, make_need, make_capability):
    calibrate_for_hashing(app)
    _world_with_capabilities(make_capability)
    need = make_need(status="open", **REHAB)
    r = client.get(f"/api/v1/needs/{need['id']}/matches", headers=world["hospital"].headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["items"] == [] and body["no_fit"] is True and body["hidden_weak"] == 3
    assert "possible" in body["no_fit_reason"] and "0.30" in body["no_fit_reason"]
    # in the reader's language: the sentence and every match's reason
    zh = client.get(f"/api/v1/needs/{need['id']}/matches", params={"include_weak": "true"},
                    headers={**world["hospital"].headers, "Accept-Language": "zh-CN,zh;q=0.9"}).json()
    assert "可能" in zh["no_fit_reason"] and "0.30" in zh["no_fit_reason"]
    assert zh["items"] and all(i["reason"] and not i["reason"].isascii() for i in zh["items"])
    en = client.get(f"/api/v1/needs/{need['id']}/matches", params={"include_weak": "true"},
                    headers=world["hospital"].headers).json()
    assert all(i["reason"].isascii() for i in en["items"])


def test_without_a_calibration_nothing_is_hidden(client, world, make_need, make_capability):
    """The shipped calibration is the real model's: with another embedder there is no confidence, and no filter."""
    _world_with_capabilities(make_capability)
    need = make_need(status="open", **REHAB)
    body = client.get(f"/api/v1/needs/{need['id']}/matches", headers=world["hospital"].headers).json()
    assert len(body["items"]) == 3 and body["no_fit"] is False
    assert all(i["confidence"] is None and i["band"] is None for i in body["items"])

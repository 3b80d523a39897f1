"""Events become ranked, explained messages: the inbox, signed webhooks to a real receiver, e-mail to a real SMTP
server, preferences, digests and reminders. Hashing embedder: the service's behaviour, not ranking quality."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from app.models import Need, NotificationItem
from app.models.common import utcnow
from tests.notifications.conftest import add_endpoint, set_prefs

LASER = {"kind": "technology", "title": "超快激光微加工穿刺针针尖",
         "description": "飞秒激光加工房间隔穿刺针的可调弯针尖微结构，用于介入器械研发。",
         "tracks": ["interventional_implant"], "stages": ["rnd", "prototyping"]}
REHAB = {"title": "脑卒中上肢康复训练依从性差", "description": "出院后上肢康复训练难以坚持，缺少居家监测与反馈。",
         "tracks": ["rehab_eldercare"], "partner_types": ["enterprise"], "regions": []}


def _inbox(client, persona, **params):
    r = client.get("/api/v1/notifications", params=params, headers=persona.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _open(make_need, persona="hospital", **kw):
    return make_need(persona, status="open", **kw)


def test_a_new_need_reaches_the_matching_companies_ranked_and_explained(client, world, worker, make_need,
                                                                         make_capability):
    set_prefs(client, world["company"], min_score=0.0)
    rf = make_capability()
    second = make_capability(title="可调弯鞘管 steerable sheath", description="可调弯鞘管，配合房间隔穿刺针定位。")
    need = _open(make_need)
    assert _inbox(client, world["company"])["total"] == 0  # nothing until the worker ran
    tick = worker.run_once(clock=False)
    assert tick.events >= 1

    inbox = _inbox(client, world["company"])
    assert inbox["total"] == 1
    n = inbox["items"][0]
    assert n["kind"] == "match" and n["read_at"] is None and n["language"] == "zh"
    assert need["title"] in n["title"]
    items = n["payload"]["items"]
    assert {i["capability"]["id"] for i in items} == {rf["id"], second["id"]}
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    assert all(i["why"] and i["need"]["id"] == need["id"] and i["link"].endswith(f"/needs/{need['id']}")
               and i["api_link"].endswith(f"/api/v1/needs/{need['id']}") and "/api/" not in i["link"] for i in items)
    assert items[0]["need"]["hospital"] == "普陀区中心医院"  # a public need names its hospital
    assert "1. " in n["body"] and str(round(items[0]["score"], 2))[:3] in n["body"]

    h = world["company"].headers
    assert client.get("/api/v1/notifications/unread-count", headers=h).json() == {"unread": 1}
    assert client.post("/api/v1/notifications/read", json={}, headers=h).json() == {"marked": 1}
    assert client.get("/api/v1/notifications/unread-count", headers=h).json() == {"unread": 0}
    assert _inbox(client, world["company"], unread=True)["total"] == 0
    # another organisation cannot read it
    assert client.get(f"/api/v1/notifications/{n['id']}", headers=world["company_b"].headers).status_code == 404

    # a material change re-ranks, but a pair already told is not news again
    client.patch(f"/api/v1/needs/{need['id']}", json={"description": need["description"] + " 需要可调弯。",
                                                       "version": need["version"]}, headers=world["hospital"].headers)
    worker.run_once(clock=False)
    assert _inbox(client, world["company"])["total"] == 1


def test_anonymous_needs_stay_anonymous_and_thresholds_and_interests_filter(client, world, worker, make_need,
                                                                             make_capability):
    set_prefs(client, world["company"], min_score=0.0)
    set_prefs(client, world["lab"], min_score=0.99)  # nothing scores that high with the hashing embedder
    set_prefs(client, world["company_b"], min_score=0.0, tracks=["imaging"])  # not this need's track
    make_capability()
    make_capability("lab", **LASER)
    make_capability("company_b", title="穿刺针 puncture needle", description="房间隔穿刺针",
                    tracks=["interventional_implant"])
    _open(make_need, confidentiality="anonymous")
    worker.run_once(clock=False)
    (n,) = _inbox(client, world["company"])["items"]
    assert all(i["need"]["hospital"] is None for i in n["payload"]["items"])
    assert "普陀区中心医院" not in str(n)
    assert _inbox(client, world["lab"])["total"] == 0
    assert _inbox(client, world["company_b"])["total"] == 0


def test_off_means_off_and_the_inbox_channel_can_be_left_out(client, world, worker, make_need, make_capability):
    set_prefs(client, world["company"], rhythm="off", min_score=0.0)
    set_prefs(client, world["lab"], channels=["webhook"], min_score=0.0)
    make_capability()
    make_capability("lab", **LASER)
    _open(make_need)
    worker.run_once(clock=False)
    assert _inbox(client, world["company"])["total"] == 0
    assert _inbox(client, world["lab"])["total"] == 0  # told by webhook only (none registered: nothing sent)


def test_company_interest_reaches_the_hospital_and_hospital_interest_the_company(client, world, worker, make_need,
                                                                                  make_capability):
    set_prefs(client, world["company"], min_score=0.0)
    cap = make_capability()
    need = _open(make_need)
    r = client.post("/api/v1/matches/feedback", json={"need_id": need["id"], "capability_id": cap["id"],
                                                      "verdict": "interested"}, headers=world["company"].headers)
    assert r.status_code in (200, 201), r.text
    worker.run_once(clock=False)
    (n,) = _inbox(client, world["hospital"])["items"]
    assert n["kind"] == "interest" and "普实医疗" in n["title"] and need["title"] in n["title"]

    r = client.post("/api/v1/matches/feedback", json={"need_id": need["id"], "capability_id": cap["id"],
                                                      "verdict": "interested"}, headers=world["hospital"].headers)
    assert r.status_code in (200, 201), r.text
    worker.run_once(clock=False)
    kinds = [x["kind"] for x in _inbox(client, world["company"])["items"]]
    assert kinds == ["interest", "match"]


def test_webhook_is_signed_and_email_is_a_readable_bilingual_message(client, world, worker, receiver, smtp_server,
                                                                      make_need, make_capability):
    set_prefs(client, world["company"], min_score=0.0, channels=["inbox", "webhook", "email"], language="en")
    add_endpoint(client, world["company"], receiver)
    make_capability()
    need = _open(make_need)
    tick = worker.run_once(clock=False)
    assert tick.delivered == 2 and tick.failed == 0  # one webhook, one e-mail (the company has one member)

    (got,) = receiver.received
    assert got["verified"] and got["id"].startswith("msg_")
    assert got["body"]["type"] == "clinmatch.match"
    assert got["body"]["data"]["items"][0]["need"]["id"] == need["id"]
    assert got["body"]["data"]["items"][0]["why"]

    (mail,) = smtp_server.messages
    assert mail["To"] == "company@example.org"
    assert mail["Subject"].startswith("A new clinical need matches your capabilities")
    assert mail["X-Clinmatch-Idempotency-Key"].startswith("msg_") and mail["Message-ID"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert need["title"] in text and "score / 匹配度" in text and "why / 匹配原因" in text
    assert need["title"] in html and "<ol" in html

    deliveries = client.get("/api/v1/deliveries", headers=world["company"].headers).json()
    assert {d["channel"]: d["status"] for d in deliveries["items"]} == {"webhook": "delivered", "email": "delivered"}


def test_a_person_can_turn_their_own_email_off(client, world, worker, smtp_server, make_need, make_capability):
    set_prefs(client, world["company"], min_score=0.0)
    r = client.put("/api/v1/notifications/preferences/me", json={"email": False, "version": 0},
                   headers=world["company"].headers)
    assert r.status_code == 200 and r.json()["email"] is False
    make_capability()
    _open(make_need)
    worker.run_once(clock=False)
    assert _inbox(client, world["company"])["total"] == 1 and smtp_server.messages == []


def test_daily_digest_is_one_message_with_every_match_ranked(app, client, world, worker, smtp_server, make_need,
                                                              make_capability):
    from app.jobs.scheduler import run_digests

    set_prefs(client, world["company"], min_score=0.0, rhythm="daily")
    make_capability()
    titles = ["房间隔穿刺针遇阻上滑", "穿刺点偏移导致心脏穿孔", "可调弯穿刺针需求"]
    for t in titles:
        _open(make_need, title=t)
    worker.run_once(clock=False)
    assert _inbox(client, world["company"])["total"] == 0 and smtp_server.messages == []
    engine, settings = app.state.engine, app.state.settings
    with Session(engine) as s:
        assert len(s.exec(select(NotificationItem).where(NotificationItem.notification_id.is_(None))).all()) == 3
    assert run_digests(engine, settings) == 0  # the items came in this period: they wait for the next boundary

    tomorrow = utcnow() + timedelta(days=1, hours=1)
    assert run_digests(engine, settings, now=tomorrow) == 1
    assert run_digests(engine, settings, now=tomorrow) == 0  # once per period
    worker.run_once(clock=False)
    (n,) = _inbox(client, world["company"])["items"]
    assert n["kind"] == "digest" and "3" in n["title"]
    items = n["payload"]["items"]
    assert sorted(i["need"]["title"] for i in items) == sorted(titles)
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    (mail,) = smtp_server.messages
    assert "每日摘要" in mail["Subject"]
    assert all(t in mail.get_body(("plain",)).get_content() for t in titles)


def test_reminders_end_the_silence_once_per_period(app, client, world, worker, make_need):
    from app.jobs.scheduler import run_reminders

    need = _open(make_need)
    engine, settings = app.state.engine, app.state.settings
    assert run_reminders(engine, settings) == 0
    with Session(engine) as s:
        s.execute(update(Need).where(Need.id == need["id"]).values(opened_at=utcnow() - timedelta(days=15)))
        s.commit()
    sent = run_reminders(engine, settings)
    assert sent == 3  # the hospital and the two commission organisations (the world's admin org is one)
    assert run_reminders(engine, settings) == 0
    (n,) = _inbox(client, world["hospital"])["items"]
    assert n["kind"] == "reminder" and "15" in n["title"]
    assert _inbox(client, world["commission"])["total"] == 1


def test_engagement_steps_reach_every_party(client, world, worker, make_need, make_capability):
    cap = make_capability()
    need = _open(make_need)
    worker.run_once(clock=False)
    before = _inbox(client, world["company"])["total"]
    r = client.post("/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]},
                    headers=world["hospital"].headers)
    assert r.status_code == 201, r.text
    worker.run_once(clock=False)
    items = _inbox(client, world["company"])["items"]
    assert len(items) == before + 1 and items[0]["kind"] == "engagement"
    # a person opens the partnership's page; integrations read the API
    assert items[0]["link"].endswith(f"/partnerships/{r.json()['id']}")
    assert items[0]["payload"]["items"][0]["api_link"].endswith(f"/api/v1/engagements/{r.json()['id']}")


def test_bad_input_is_a_problem_and_changes_nothing(client, world):
    h = world["company"].headers
    for body in ({"rhythm": "hourly", "version": 0}, {"min_score": 2, "version": 0}, {"channels": ["sms"],
                                                                                         "version": 0}):
        r = client.put("/api/v1/notifications/preferences", json=body, headers=h)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert client.put("/api/v1/notifications/preferences", json={"rhythm": "daily", "version": 5},
                      headers=h).status_code == 409
    assert client.get("/api/v1/notifications/preferences", headers=h).json()["rhythm"] == "instant"
    for url in ("ftp://example.org/x", "not a url", "http://" + "a" * 2001 + ".org"):
        r = client.post("/api/v1/webhooks", json={"url": url}, headers=h)
        assert r.status_code == 422, url
    assert client.get("/api/v1/webhooks", headers=h).json()["total"] == 0
    assert client.post("/api/v1/deliveries/999/redeliver", headers=h).status_code == 404
    assert client.get("/api/v1/notifications", headers={}).status_code == 401


def test_a_partnership_that_stopped_moving_reminds_its_parties_and_the_commission(app, client, world, make_need,
                                                                                   make_capability):
    from app.jobs.scheduler import run_reminders
    from app.models import Engagement, EngagementTransition

    cap = make_capability()
    need = _open(make_need)
    r = client.post("/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]},
                    headers=world["hospital"].headers)
    assert r.status_code == 201, r.text
    engine, settings = app.state.engine, app.state.settings
    # the need has a partnership now: no need reminder; the partnership is fresh: no partnership reminder
    with Session(engine) as s:
        s.execute(update(Need).where(Need.id == need["id"]).values(opened_at=utcnow() - timedelta(days=40)))
        s.commit()
    assert run_reminders(engine, settings) == 0
    old = utcnow() - timedelta(days=31)
    with Session(engine) as s:
        s.execute(update(Engagement).values(created_at=old))
        s.execute(update(EngagementTransition).values(at=old))
        s.commit()
    assert run_reminders(engine, settings) == 4  # hospital, company, the two commission organisations
    assert run_reminders(engine, settings) == 0
    (n,) = _inbox(client, world["company"], kind="reminder")["items"]
    assert "31" in n["title"] and n["link"].endswith(f"/partnerships/{r.json()['id']}")


def test_no_company_is_told_of_a_weak_match(app, client, world, worker, make_need, make_capability):
    from tests.api.test_matches import ABLATION, calibrate_for_hashing

    calibrate_for_hashing(app)
    for persona in ("company", "company_b"):
        set_prefs(client, world[persona], min_score=0.0)
    rf = make_capability()  # strong for the TSP need
    abl = make_capability("company_b", **ABLATION)  # weak for it
    need = _open(make_need)
    worker.run_once(clock=False)
    items = _inbox(client, world["company"])["items"][0]["payload"]["items"]
    assert [(i["capability"]["id"], i["band"]) for i in items] == [(rf["id"], "strong")]
    assert items[0]["confidence"] > 0.6
    assert _inbox(client, world["company_b"])["total"] == 0
    # the weak pair is still there for whoever asks for it
    side = client.get(f"/api/v1/capabilities/{abl['id']}/matches", params={"include_weak": True},
                      headers=world["company_b"].headers).json()
    assert [i["need"]["id"] for i in side["items"]] == [need["id"]]

"""The service speaks Chinese first: one catalogue that has every message the code says, and problem details in the
caller's language (the person's preference, else Accept-Language, else Chinese)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from app.i18n import catalogue, negotiate

ROOT = Path(__file__).resolve().parents[1]
HAN = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORD = re.compile(r"\b[a-zA-Z]{4,}\b")


def _extracted() -> dict[str, str]:
    found = {}
    for fn, lineno, message, _c, _ctx in extract_from_dir(str(ROOT / "app"), method_map=[("**.py", "python")],
                                                          keywords={"msg": None}, comment_tags=()):
        found.setdefault(message, f"app/{fn}:{lineno}")
    return found


def test_every_message_the_code_says_is_in_the_catalogue_in_both_languages():
    zh = catalogue()
    found = _extracted()
    assert len(found) > 100
    missing = {m: where for m, where in found.items() if m not in zh}
    assert missing == {}, "add these to app/locale/build_po.py and run it"
    for msgid, text in zh.items():
        assert HAN.search(text), (msgid, text)  # said in Chinese
        # the same placeholders in both languages
        assert set(re.findall(r"{(\w+)}", msgid)) == set(re.findall(r"{(\w+)}", text)), msgid


def test_the_callers_language():
    assert negotiate(None) == "zh" and negotiate("") == "zh"
    assert negotiate("en-GB,en;q=0.8") == "en" and negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert negotiate("fr-FR, en;q=0.5, zh;q=0.7") == "zh"  # by q-value, French not spoken
    assert negotiate("de") == "zh" and negotiate("en", preferred="zh") == "zh"


def _no_english_in(text: str) -> None:
    words = [w for w in ENGLISH_WORD.findall(text) if w not in {"Bearer", "Authorization", "PDF", "JSON"}]
    assert not words, (words, text)


def test_problem_details_in_chinese_for_a_404_a_409_guard_and_a_422_field_error(client, world, make_need,
                                                                                 make_capability):
    zh = {"Accept-Language": "zh-CN,zh;q=0.9", **world["hospital"].headers}
    r = client.get("/api/v1/needs/999999", headers=zh)
    assert r.status_code == 404 and r.headers["content-language"] == "zh-CN"
    assert r.json()["title"] == "未找到" and r.json()["detail"] == "未找到需求 999999。"
    # a guard: intent needs the lead company's acceptance
    need, cap = make_need(status="open"), make_capability()
    eng = client.post("/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]},
                      headers=world["hospital"].headers).json()
    r = client.post(f"/api/v1/engagements/{eng['id']}/transitions",
                    json={"target": "intent_signed", "version": eng["version"]}, headers=zh)
    assert r.status_code == 409 and r.json()["title"] == "冲突"
    assert r.json()["detail"] == "进入“达成合作意向”还需要：牵头企业的接受。"
    _no_english_in(r.json()["detail"])
    # a transition the table forbids names the allowed ones in Chinese too
    r = client.post(f"/api/v1/engagements/{eng['id']}/transitions",
                    json={"target": "rnd", "version": eng["version"]}, headers=zh)
    assert r.status_code == 409 and r.json()["detail"] == "合作不能从“已提议”进入“研发”；允许：达成合作意向；暂停；终止；撤回。"
    # field errors: pydantic's and our validators'
    r = client.post("/api/v1/needs", json={"title": "", "description": "x" * 5, "department": "心内科",
                                           "tracks": ["nope"], "colour": 1}, headers=zh)
    assert r.status_code == 422 and r.json()["title"] == "输入无效"
    messages = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert messages["colour"] == "未知字段：请求中不接受此字段（请检查拼写）。"
    assert messages["tracks.0"].startswith("须为以下之一")
    for text in messages.values():
        assert HAN.search(text), text
    r = client.post(f"/api/v1/engagements/{eng['id']}/milestones",
                    json={"kind": "clinical_ethics_approval", "title": "伦理", "occurred_on": "2026-01-01",
                          "reference": "x"}, headers=zh)
    assert r.status_code == 422 and "至少三位数字" in r.json()["errors"][0]["message"]
    # English on request; Chinese when the caller names no language
    r = client.get("/api/v1/needs/999999", headers={**world["hospital"].headers, "Accept-Language": "en"})
    assert r.json()["detail"] == "Need 999999 not found." and r.json()["title"] == "Not found"
    r = client.get("/api/v1/needs/999999", headers={**world["hospital"].headers, "Accept-Language": ""})
    assert r.json()["title"] == "未找到"


def test_a_persons_own_language_wins_over_the_header(client, world):
    h = world["company"].headers
    r = client.put("/api/v1/notifications/preferences/me", json={"language": "zh", "version": 0}, headers=h)
    assert r.status_code == 200, r.text
    r = client.get("/api/v1/needs/999999", headers={**h, "Accept-Language": "en"})
    assert r.json()["detail"] == "未找到需求 999999。"


def test_a_matchs_reasons_read_in_the_readers_language():
    from app.services.reasons import why

    exp = {"shared_concepts": [{"concept": "tsp", "zh": "房间隔穿刺", "en": "transseptal puncture"},
                               {"concept": "animal", "zh": "动物实验", "en": "animal study"}],
           "structured": [{"condition": "region", "holds": "no"}, {"condition": "stages", "holds": "yes"}]}
    assert why(exp, "zh") == "共同概念：房间隔穿刺、动物实验；不满足：所需地区"
    assert why(exp, "en") == "shared concepts: transseptal puncture, animal study; does not meet: the region required"
    assert why({"shared_concepts": [], "structured": []}, "zh") == "无明确的共同概念；依据文本语义相似度"
    _no_english_in(why(exp, "zh"))

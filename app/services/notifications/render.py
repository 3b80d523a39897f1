"""Words of the messages, in Chinese and English: inbox titles and bodies, e-mail (plain text and HTML), webhook
bodies. Pure functions of a notification's kind, items and language."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from app.models.event import EventType

_env = Environment(loader=PackageLoader("app.services.notifications", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)

STATE_NAMES = {
    "proposed": ("已提议", "proposed"), "intent_signed": ("合作意向", "cooperation intent"),
    "training_observation": ("培训与临床观摩", "training and clinical observation"), "rnd": ("研发", "R&D"),
    "animal_trial": ("动物实验", "animal trial"), "clinical_evaluation": ("上市前临床评价", "pre-market clinical evaluation"),
    "clinical_performance": ("临床性能评价", "clinical performance evaluation"), "filing": ("备案", "filing"),
    "hospital_admission": ("医院准入", "hospital admission"),
    "registration": ("注册", "registration"), "clinical_use": ("临床应用", "clinical use"),
    "on_hold": ("暂停", "on hold"), "withdrawn": ("撤回", "withdrawn"), "terminated": ("终止", "terminated"),
}
EVENT_NAMES = {
    EventType.engagement_proposed: ("提出合作", "partnership proposed"),
    EventType.engagement_accepted: ("接受合作", "partnership accepted"),
    EventType.engagement_transition: ("阶段变更", "stage changed"),
    EventType.engagement_milestone: ("新里程碑", "new milestone"),
    EventType.engagement_participant_invited: ("邀请参与合作", "invitation to take part"),
    EventType.engagement_participant_answered: ("参与邀请已答复", "invitation answered"),
    EventType.engagement_document: ("新文件", "document added"),
}
LABELS = {
    "score": ("匹配度", "score"), "why": ("匹配原因", "why"), "open": ("查看", "open"),
    "note": ("推荐说明", "note"), "comment": ("留言", "comment"),
    "hidden": ("匿名医院", "an anonymous hospital"), "party": ("合作方", "a partner"), "footer": (
        "您收到此邮件，是因为贵机构在 clinmatch 订阅了通知。可在 /settings/notifications 页面更改频率与渠道。",
        ("You receive this because your organisation subscribed to clinmatch notifications; change rhythm and channels "
        "on the /settings/notifications page.")),
}


def _t(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def label(key: str, lang: str) -> str:
    return _t(LABELS[key], lang)


def state_name(state: str | None, lang: str) -> str:
    return _t(STATE_NAMES.get(state or "", (state or "", state or "")), lang)


def _q(s: str, lang: str) -> str:
    return f"“{s}”"  # the same quotation marks read well in both languages


def item_line(item: dict[str, Any], lang: str) -> str:
    """One line saying what an item is."""
    kind = item["kind"]
    if kind == "match":
        return f"{item['need']['title']} ↔ {item['capability']['title']}"
    if kind == "interest":
        who = item.get("who") or label("hidden", lang)
        return (f"{who} 对{_q(item['subject'], lang)}感兴趣" if lang == "zh"
                else f"{who} is interested in {_q(item['subject'], lang)}")
    if kind == "engagement":
        what = _t(EVENT_NAMES.get(item["event"], (item["event"], item["event"])), lang)
        detail = item.get("detail") or ""
        return f"{item['need_title']} — {what}: {state_name(item.get('state'), lang)}" + (f" ({detail})" if detail else "")
    if kind == "introduction":
        need = item["need"]["title"]
        company = item.get("company") or ""
        if item["event"] == EventType.introduction_made:
            return (f"区商务委推荐对接：{_q(need, lang)} ↔ {company}（{item['capability']['title']}）" if lang == "zh"
                    else f"The commission introduces {_q(need, lang)} to {company} ({item['capability']['title']})")
        if item["event"] == EventType.introduction_answered:
            if item["status"] == "interested":
                return (f"{company} 对{_q(need, lang)}感兴趣" if lang == "zh"
                        else f"{company} is interested in {_q(need, lang)}")
            return (f"{company} 暂不参与{_q(need, lang)}" if lang == "zh"
                    else f"{company} declined {_q(need, lang)}")
        if item["status"] == "accepted":
            return (f"医院接受了对接：{_q(need, lang)} ↔ {company}，合作已发起" if lang == "zh"
                    else f"The hospital accepted: {_q(need, lang)} with {company}; a partnership is proposed")
        return (f"医院谢绝了对接：{_q(need, lang)} ↔ {company}" if lang == "zh"
                else f"The hospital declined the introduction of {_q(need, lang)} to {company}")
    if kind == "message":
        who = item.get("who") or label("hidden" if item.get("side") == "hospital" else "party", lang)
        need = item["need"]["title"]
        return (f"{who} 就{_q(need, lang)}发来新消息" if lang == "zh"
                else f"New message from {who} on {_q(need, lang)}")
    if kind == "reminder":
        d = item["days"]
        if item["subject_kind"] == "need":
            return (f"需求{_q(item['title'], lang)}已开放 {d} 天，尚无企业表示感兴趣" if lang == "zh"
                    else f"The need {_q(item['title'], lang)} has been open {d} days with no interested company")
        return (f"合作{_q(item['title'], lang)}已 {d} 天没有阶段变更或里程碑（当前：{state_name(item.get('state'), lang)}）"
                if lang == "zh" else
                f"The partnership on {_q(item['title'], lang)} has had no transition or milestone for {d} days "
                f"(now: {state_name(item.get('state'), lang)})")
    return item.get("text", kind)  # ping


def title(kind: str, items: list[dict[str, Any]], lang: str, rhythm: str = "instant") -> str:
    n = len(items)
    if kind == "account":  # one person's invitation or reset: its subject was written in their language
        return items[0]["subject"]
    if kind == "digest":
        period = ("每日", "daily") if rhythm == "daily" else ("每周", "weekly")
        return (f"clinmatch {period[0]}摘要：{n} 条更新" if lang == "zh"
                else f"clinmatch {period[1]} digest: {n} update{'s' if n != 1 else ''}")
    if kind == "match" and all(i.get("audience") == "hospital" for i in items):  # new strong fits for a hospital
        t = items[0]["need"]["title"]
        return (f"您的需求{_q(t, lang)}有新的高匹配合作方：{items[0].get('company', '')}" if lang == "zh" and n == 1
                else f"您的需求有 {n} 个新的高匹配合作方" if lang == "zh"
                else f"A new strong fit for your need {_q(t, lang)}: {items[0].get('company', '')}" if n == 1
                else f"{n} new strong fits for your needs")
    if kind == "match":
        needs = {i["need"]["id"] for i in items}
        caps = {i["capability"]["id"] for i in items}
        if len(needs) == 1:
            t = items[0]["need"]["title"]
            return (f"新的临床需求与您的能力匹配：{t}" if lang == "zh"
                    else f"A new clinical need matches your capabilities: {t}")
        if len(caps) == 1:
            t = items[0]["capability"]["title"]
            return (f"您的能力{_q(t, lang)}匹配到 {n} 条临床需求" if lang == "zh"
                    else f"{n} clinical needs match your capability {_q(t, lang)}")
        return f"{n} 条新的匹配" if lang == "zh" else f"{n} new matches"
    if n == 1:
        return item_line(items[0], lang)[:300]
    return f"{n} 条更新" if lang == "zh" else f"{n} updates"


def ranked(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Matches first, best score first; then the rest in the order they happened."""
    return sorted(items, key=lambda i: (i["kind"] != "match", -(i.get("score") or 0.0)))


def body(items: list[dict[str, Any]], lang: str) -> str:
    """Plain text: one numbered entry per item, with score, why and link."""
    out = []
    for n, it in enumerate(ranked(items), 1):
        line = f"{n}. {item_line(it, lang)}"
        if it.get("score") is not None:
            line += f"  [{label('score', lang)} {it['score']:.2f}]"
        out.append(line)
        for key in ("why", "note", "comment"):  # the matcher's reasons, the commission's note, the party's words
            text = it.get(f"{key}_zh") if lang == "zh" and it.get(f"{key}_zh") else it.get(key)
            if text:
                out.append(f"   {label(key, lang)}: {text}")
        if it.get("link"):
            out.append(f"   {it['link']}")
    return "\n".join(out)


def email(kind: str, title_: str, items: list[dict[str, Any]], lang: str, link: str) -> tuple[str, str]:
    """(plain text, HTML) of an e-mail; labels in the recipient's language with the other beside them."""
    other = "en" if lang == "zh" else "zh"
    ctx = {"title": title_, "items": [{**it, "line": item_line(it, lang),
                                       "why": (it.get("why_zh") if lang == "zh" else None) or it.get("why")}
                                      for it in ranked(items)], "link": link,
           "lang": lang, "L": {k: label(k, lang) for k in LABELS}, "O": {k: label(k, other) for k in LABELS},
           "kind": kind}
    return _env.get_template("email.txt").render(ctx), _env.get_template("email.html").render(ctx)


def webhook_body(notification_id: int, organisation_id: int, kind: str, title_: str, link: str,
                 created_at: str, payload: dict[str, Any]) -> str:
    """The JSON body of a webhook message (Standard Webhooks' type / timestamp / data envelope)."""
    return json.dumps({"type": f"clinmatch.{kind}", "timestamp": created_at,
                       "data": {"notification_id": notification_id, "organisation_id": organisation_id,
                                "title": title_, "link": link, **payload}},
                      ensure_ascii=False, separators=(",", ":"))

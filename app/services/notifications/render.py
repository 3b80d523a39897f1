"""Words of the messages, in Chinese and English: inbox titles and bodies, e-mail (plain text and HTML), webhook
bodies. Pure functions of a notification's kind, items and language."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from app.i18n import msg, say
from app.models.event import EventType

_env = Environment(loader=PackageLoader("app.services.notifications", "templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)

# Every word here is an entry of the one catalogue (app/locale/build_po.py): English msgids, said in the reader's
# language with app.i18n.say.
STATE_NAMES = {
    "proposed": msg("proposed"), "intent_signed": msg("cooperation intent"),
    "training_observation": msg("training and clinical observation"), "rnd": msg("R&D"),
    "animal_trial": msg("animal trial"), "clinical_evaluation": msg("pre-market clinical evaluation"),
    "clinical_performance": msg("clinical performance evaluation"), "filing": msg("filing"),
    "hospital_admission": msg("hospital admission"), "registration": msg("registration"),
    "clinical_use": msg("clinical use"), "on_hold": msg("on hold"), "withdrawn": msg("withdrawn"),
    "terminated": msg("terminated"),
}
EVENT_NAMES = {
    EventType.engagement_proposed: msg("partnership proposed"),
    EventType.engagement_accepted: msg("partnership accepted"),
    EventType.engagement_transition: msg("stage changed"),
    EventType.engagement_milestone: msg("new milestone"),
    EventType.engagement_participant_invited: msg("invitation to take part"),
    EventType.engagement_participant_answered: msg("invitation answered"),
    EventType.engagement_document: msg("document added"),
}
LABELS = {
    "score": msg("score"), "why": msg("why"), "open": msg("view it"),
    "note": msg("note"), "comment": msg("comment"),
    "hidden": msg("an anonymous hospital"), "party": msg("a partner"),
    "footer": msg("You receive this because your organisation subscribed to clinmatch notifications; change rhythm "
                  "and channels on the /settings/notifications page."),
}


def label(key: str, lang: str) -> str:
    return say(LABELS[key], lang)


def state_name(state: str | None, lang: str) -> str:
    m = STATE_NAMES.get(state or "")
    return say(m, lang) if m else (state or "")


def _q(s: str) -> str:
    return f"“{s}”"  # the same quotation marks read well in both languages


def item_line(item: dict[str, Any], lang: str) -> str:
    """One line saying what an item is."""
    kind = item["kind"]
    if kind == "match":
        return f"{item['need']['title']} ↔ {item['capability']['title']}"
    if kind == "interest":
        who = item.get("who") or label("hidden", lang)
        return say(msg("{who} is interested in {subject}", who=who, subject=_q(item["subject"])), lang)
    if kind == "engagement":
        m = EVENT_NAMES.get(item["event"])
        what = say(m, lang) if m else item["event"]
        detail = item.get("detail") or ""
        return f"{item['need_title']} — {what}: {state_name(item.get('state'), lang)}" + (f" ({detail})" if detail else "")
    if kind == "introduction":
        need = _q(item["need"]["title"])
        company = item.get("company") or ""
        if item["event"] == EventType.introduction_made:
            line = msg("The commission introduces {need} to {company} ({capability})", need=need, company=company,
                       capability=item["capability"]["title"])
        elif item["event"] == EventType.introduction_answered:
            line = (msg("{company} is interested in {need}", company=company, need=need)
                    if item["status"] == "interested" else msg("{company} declined {need}", company=company, need=need))
        elif item["status"] == "accepted":
            line = msg("The hospital accepted: {need} with {company}; a partnership is proposed", need=need,
                       company=company)
        else:
            line = msg("The hospital declined the introduction of {need} to {company}", need=need, company=company)
        return say(line, lang)
    if kind == "message":
        who = item.get("who") or label("hidden" if item.get("side") == "hospital" else "party", lang)
        return say(msg("New message from {who} on {need}", who=who, need=_q(item["need"]["title"])), lang)
    if kind == "reminder":
        d, t = item["days"], _q(item["title"])
        if item["subject_kind"] == "need":
            return say(msg("The need {title} has been open {days} days with no interested company", title=t, days=d),
                       lang)
        return say(msg("The partnership on {title} has had no transition or milestone for {days} days (now: {state})",
                       title=t, days=d, state=state_name(item.get("state"), lang)), lang)
    return item.get("text", kind)  # ping


def title(kind: str, items: list[dict[str, Any]], lang: str, rhythm: str = "instant") -> str:
    n = len(items)
    if kind == "account":  # one person's invitation or reset: its subject was written in their language
        return items[0]["subject"]
    if kind == "digest":
        return say(msg("clinmatch daily digest: {n} updates", n=n) if rhythm == "daily"
                   else msg("clinmatch weekly digest: {n} updates", n=n), lang)
    if kind == "match" and all(i.get("audience") == "hospital" for i in items):  # new strong fits for a hospital
        if n == 1:
            return say(msg("A new strong fit for your need {need}: {company}", need=_q(items[0]["need"]["title"]),
                           company=items[0].get("company", "")), lang)
        return say(msg("{n} new strong fits for your needs", n=n), lang)
    if kind == "match":
        needs = {i["need"]["id"] for i in items}
        caps = {i["capability"]["id"] for i in items}
        if len(needs) == 1:
            return say(msg("A new clinical need matches your capabilities: {title}", title=items[0]["need"]["title"]),
                       lang)
        if len(caps) == 1:
            return say(msg("{n} clinical needs match your capability {title}", n=n,
                           title=_q(items[0]["capability"]["title"])), lang)
        return say(msg("{n} new matches", n=n), lang)
    if n == 1:
        return item_line(items[0], lang)[:300]
    return say(msg("{n} updates", n=n), lang)


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

"""Every domain event type is named by ``EventType``, emitted through it, and either handled by the notification
composer or listed as deliberately silent."""

from __future__ import annotations

import ast
from pathlib import Path

from app.models.event import EventType
from app.services.notifications.compose import HANDLERS, SILENT

ROOT = Path(__file__).resolve().parents[2]
EMITTERS = {"emit", "_event"}  # events.emit and the services' helpers around it


def _emit_calls():
    for p in sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "seed").rglob("*.py")]):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in EMITTERS:
                    yield p.relative_to(ROOT), node


def test_every_type_has_a_handler_or_is_deliberately_silent():
    assert not set(HANDLERS) & SILENT
    assert set(HANDLERS) | SILENT == set(EventType), set(EventType) - set(HANDLERS) - SILENT


def test_emitters_name_their_type_through_the_enum():
    free, named = [], set()
    for path, call in _emit_calls():
        for arg in call.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                free.append(f"{path}:{call.lineno} {arg.value!r}")
            if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "EventType":
                named.add(EventType[arg.attr])
    assert not free, "emit an EventType member, not a string: " + ", ".join(free)
    assert named == set(EventType), set(EventType) - named  # and every type is emitted somewhere


def test_the_values_are_the_stored_strings():
    assert EventType.need_status_changed == "need.status_changed" and str(EventType.need_opened) == "need.opened"
    assert all(t.value.replace(".", "_") == t.name and t.value.count(".") == 1 for t in EventType)

"""The pages speak from the ONE catalogue (app.i18n): every ``t("...")`` of the templates and of app/web, every
label key, has its Chinese; no Chinese text is written into a template (it would be a second copy)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from app.i18n import catalogue
from app.web.i18n import LABELS, label

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "app" / "web"
HAN = re.compile(r"[\u4e00-\u9fff]")


def page_strings() -> dict[str, str]:
    """``t("...")`` literals: templates (Jinja's Babel extractor) and the page modules (Python's)."""
    found: dict[str, str] = {}
    for method, pattern in (("jinja2.ext:babel_extract", "**.html"), ("python", "**.py")):
        for fn, lineno, message, _c, _ctx in extract_from_dir(str(WEB), method_map=[(pattern, method)],
                                                              keywords={"t": None}, comment_tags=()):
            if isinstance(message, str):
                found.setdefault(message, f"app/web/{fn}:{lineno}")
    return found


def test_every_page_string_has_its_chinese():
    zh = catalogue()
    found = page_strings()
    assert len(found) > 100
    missing = {m: where for m, where in found.items() if LABELS.get(m, m) not in zh}
    assert missing == {}, "add these to app/locale/build_po.py and run it"
    missing_labels = {k: v for k, v in LABELS.items() if v not in zh}
    assert missing_labels == {}, "add these to app/locale/build_po.py and run it"


def test_a_label_reads_in_both_languages():
    assert label("filed", "en") == "Needs filed" and label("filed", "zh") == "需求发布"
    assert label("Sign in", "zh") == "登录" and label("Sign in", "en") == "Sign in"


def test_templates_hold_no_translation_of_their_own():
    allowed = {"中文"}  # the language switch names Chinese in Chinese, whatever the page's language
    for path in WEB.rglob("templates/**/*.html"):
        text = path.read_text(encoding="utf-8")
        for line_no, line in enumerate(text.splitlines(), 1):
            for word in HAN.findall(line):
                assert any(word in a for a in allowed), f"{path.relative_to(ROOT)}:{line_no}: {line.strip()}"

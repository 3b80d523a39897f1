"""A capability catalogue from a spreadsheet (CSV or XLSX): read, check every row as ``POST /capabilities`` would,
report each row's errors before anything is stored, then register the valid rows in one go.

Used by ``POST /api/v1/capabilities/import`` (``dry_run``) and the company's import page (preview, then confirm).
Columns are named in English (the API's field names) or Chinese (标题, 描述, 赛道 ...); list cells are separated by
``;`` ``,`` ``、`` or ``|``; vocabulary cells take the code or its Chinese or English name. Flush, never commit.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from openpyxl import load_workbook
from pydantic import ValidationError
from sqlmodel import Session, select

from app.errors import Invalid, field_message
from app.i18n import Message, msg, say
from app.models import Capability
from app.models.capability import CapabilityCreate
from app.models.enums import CapabilityKind, CapabilityStatus, Language, Region, Stage, Track
from app.policy import Actor, require_company
from app.services import capabilities

MAX_ROWS = 500  # one request embeds them all: ~5 s at the model's ~100 capabilities/s
MAX_CELL = 10_000  # characters read from one cell (the longest field, description, takes 8,000)
MAX_UNPACKED = 50 * 1024 * 1024  # an XLSX is a zip: refuse one that inflates beyond this (a zip bomb)
MAX_CARRIED = 4 * 1024 * 1024  # a preview's rows carried to its confirmation, inflated

# field -> the headers that name it (lower-cased; English field names first)
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "name", "标题", "名称", "能力名称", "产品名称"),
    "description": ("description", "描述", "简介", "说明", "能力描述"),
    "kind": ("kind", "type", "类型", "类别"),
    "tracks": ("tracks", "track", "赛道", "领域"),
    "stages": ("stages", "stage", "阶段", "支持阶段"),
    "certifications": ("certifications", "certification", "认证", "资质"),
    "region": ("region", "地区", "所在地区"),
    "language": ("language", "语言"),
    "external_ref": ("external_ref", "reference", "ref", "编号", "产品编号", "内部编号"),
}
LIST_FIELDS = frozenset({"tracks", "stages", "certifications"})
_SPLIT = re.compile(r"[;,，；、|\n]+")

# Names a person may type for a vocabulary value, besides the code itself.
_NAMES: dict[type[StrEnum], dict[str, tuple[str, ...]]] = {
    CapabilityKind: {"product": ("产品",), "technology": ("技术",), "service": ("服务",)},
    Track: {"interventional_implant": ("微创介入与植入", "interventional & implant"), "imaging": ("医学影像",),
            "therapy_monitoring": ("高端治疗与监护", "therapy & monitoring"),
            "diagnostics_ivd": ("临床诊断试剂及仪器", "diagnostics & ivd", "ivd"),
            "digital_health": ("数字医疗",), "biotech_rnd": ("医药及生物技术研发服务", "pharma & biotech r&d"),
            "rehab_eldercare": ("康复与养老", "rehab & elderly care")},
    Stage: {"rnd": ("研发", "r&d"), "prototyping": ("样机", "原型"), "animal_trial": ("动物实验",),
            "clinical_evaluation": ("临床评价",), "manufacturing": ("生产", "中试"),
            "registration_support": ("注册服务", "注册支持")},
    Region: {"putuo": ("普陀", "普陀区"), "shanghai": ("上海",), "nanjing": ("南京",), "wuxi": ("无锡",),
             "changzhou": ("常州",), "suzhou": ("苏州",), "nantong": ("南通",), "zhenjiang": ("镇江",),
             "taizhou": ("泰州",), "other": ("其他",)},
    Language: {"zh": ("中文", "chinese"), "en": ("英文", "english")},
}
_FIELD_VOCAB = {"kind": CapabilityKind, "tracks": Track, "stages": Stage, "region": Region, "language": Language}


def _lookup(vocab: type[StrEnum]) -> dict[str, str]:
    out = {}
    for member in vocab:
        for name in (member.value, member.value.replace("_", " "), *_NAMES.get(vocab, {}).get(member.value, ())):
            out[name.lower()] = member.value
    return out


_LOOKUPS = {f: _lookup(v) for f, v in _FIELD_VOCAB.items()}
_HEADERS = {alias: f for f, aliases in COLUMNS.items() for alias in aliases}

UNREADABLE = msg("The file could not be read as {kind}; save it again as CSV (UTF-8) or XLSX.")
UNSUPPORTED = msg("Upload a CSV or XLSX file (a .csv or .xlsx name).")
NO_TITLE = msg("The first row must name the columns; 'title' (标题) and 'description' (描述) are needed.")
TOO_MANY = msg("At most {max_rows} rows per import; this file has more. Split it.")
NO_ROWS = msg("The file has no rows below its header.")
DUPLICATE_IN_FILE = msg("Reference {ref} appears in row {line} already.")
DUPLICATE_STORED = msg("Your catalogue has a capability with reference {ref} already.")
CARRIED_BROKEN = msg("The preview has expired or was changed; upload the file again.")


@dataclass
class RowError:
    field: str
    message: Message | None = None  # ours, in the catalogue
    validation: dict[str, Any] | None = None  # pydantic's error: said with app.errors.field_message

    def text(self, lang: str) -> str:
        return say(self.message, lang) if self.message is not None else field_message(self.validation or {}, lang)


@dataclass
class ImportRow:
    line: int  # the row's number in the spreadsheet (the header is row 1)
    values: dict[str, str]  # the cells as read, by field
    data: CapabilityCreate | None = None
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportReport:
    rows: list[ImportRow]
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def valid(self) -> list[ImportRow]:
        return [r for r in self.rows if r.ok]

    @property
    def invalid(self) -> list[ImportRow]:
        return [r for r in self.rows if not r.ok]

    def errors(self, lang: str) -> list[dict[str, Any]]:
        """Every row's errors in ``lang``, as problem details name fields: ``rows.<line>.<field>``."""
        return [{"field": f"rows.{r.line}.{e.field}", "row": r.line, "message": e.text(lang)}
                for r in self.rows for e in r.errors]


# --- reading ----------------------------------------------------------------------------------------------------

def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)  # a product code typed as a number comes back from XLSX as 1001.0
    return str(v).replace("\x00", "").strip()[:MAX_CELL]


def _csv_rows(data: bytes) -> list[list[str]]:
    for enc in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GB18030 unless told otherwise
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost any byte string
        raise Invalid("file", msg(UNREADABLE.template, kind="CSV"))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        out = []
        for row in csv.reader(io.StringIO(text), dialect):
            out.append([_cell(c) for c in row])
            if len(out) > MAX_ROWS + 1:
                break
        return out
    except csv.Error as e:
        raise Invalid("file", msg(UNREADABLE.template, kind="CSV")) from e


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED:
                raise Invalid("file", msg(UNREADABLE.template, kind="XLSX"))
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Invalid:
        raise
    except Exception as e:  # openpyxl raises a dozen kinds (zip, XML, key errors) for a broken file
        raise Invalid("file", msg(UNREADABLE.template, kind="XLSX")) from e
    try:
        ws = wb.worksheets[0]
        out = []
        for row in ws.iter_rows(values_only=True):
            out.append([_cell(c) for c in row])
            if len(out) > MAX_ROWS + 1:
                break
        return out
    except Exception as e:  # a sheet broken inside a readable zip
        raise Invalid("file", msg(UNREADABLE.template, kind="XLSX")) from e
    finally:
        wb.close()


def read(filename: str, data: bytes) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """The rows of a CSV or XLSX file as (row number, {field: cell}), blank rows left out; and the columns not
    understood. 422 (field ``file``) when the file cannot be read or names no title column."""
    name = (filename or "").lower()
    if name.endswith((".csv", ".txt")):
        table = _csv_rows(data)
    elif name.endswith(".xlsx") or data[:2] == b"PK":  # a zip: an XLSX, with or without its extension
        table = _xlsx_rows(data)
    else:
        raise Invalid("file", UNSUPPORTED)
    if not table:
        raise Invalid("file", NO_ROWS)
    header = [h.strip().lower() for h in table[0]]
    fields = [_HEADERS.get(h) for h in header]
    if "title" not in fields or "description" not in fields:
        raise Invalid("file", NO_TITLE)
    ignored = [table[0][i] for i, f in enumerate(fields) if f is None and table[0][i]]
    rows = []
    for n, cells in enumerate(table[1:], start=2):
        values = {f: cells[i] for i, f in enumerate(fields) if f is not None and i < len(cells) and cells[i]}
        if values:
            rows.append((n, values))
    if len(rows) > MAX_ROWS:
        raise Invalid("file", msg(TOO_MANY.template, max_rows=MAX_ROWS))
    if not rows:
        raise Invalid("file", NO_ROWS)
    return rows, ignored


# --- checking ---------------------------------------------------------------------------------------------------

def _vocab(f: str, value: str) -> str:
    """A vocabulary cell as its code when it names one (else as typed: the check then says what is allowed)."""
    return _LOOKUPS[f].get(value.strip().lower(), value.strip())


def to_input(values: dict[str, str]) -> dict[str, Any]:
    """The cells as the body ``POST /capabilities`` takes."""
    out: dict[str, Any] = {}
    for f, v in values.items():
        if f in LIST_FIELDS:
            items = [x.strip() for x in _SPLIT.split(v) if x.strip()]
            out[f] = [_vocab(f, x) for x in items] if f in _LOOKUPS else items
        elif f in _LOOKUPS:
            out[f] = _vocab(f, v)
        else:
            out[f] = v
    out.setdefault("tracks", [])
    return out


def check(session: Session, actor: Actor, rows: Sequence[tuple[int, dict[str, str]]],
          ignored: list[str] | None = None) -> ImportReport:
    """Each row checked as ``POST /capabilities`` checks its body, and its reference (``external_ref``) against the
    file's earlier rows and the organisation's catalogue. Stores nothing."""
    require_company(actor)
    refs = {r for r in session.exec(select(Capability.external_ref).where(
        Capability.organisation_id == actor.organisation_id, Capability.status == CapabilityStatus.active,
        Capability.external_ref.is_not(None))).all()}
    seen: dict[str, int] = {}
    report = ImportReport([], ignored or [])
    for line, values in rows:
        row = ImportRow(line, dict(values))
        try:
            row.data = CapabilityCreate.model_validate(to_input(values))
        except ValidationError as e:
            for err in e.errors():
                loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)] or ["row"]
                row.errors.append(RowError(loc[0], validation=err))
        ref = (values.get("external_ref") or "").strip()
        if ref:
            if ref in seen:
                row.errors.append(RowError("external_ref", msg(DUPLICATE_IN_FILE.template, ref=ref, line=seen[ref])))
            elif ref in refs:
                row.errors.append(RowError("external_ref", msg(DUPLICATE_STORED.template, ref=ref)))
            seen.setdefault(ref, line)
        if row.errors:
            row.data = None
        report.rows.append(row)
    return report


def store(session: Session, actor: Actor, report: ImportReport, index=None) -> list[Capability]:
    """Register the report's valid rows, in order, in one batch (the request's one transaction)."""
    items = [r.data for r in report.valid if r.data is not None]
    return capabilities.create_capabilities(session, actor, items, index) if items else []


# --- a preview's rows, carried to its confirmation -----------------------------------------------------------------

def carry(rows: Sequence[tuple[int, dict[str, str]]]) -> str:
    """The rows as read, packed for a form's hidden field: the confirmation checks them again, so nothing is
    trusted from it that the person could not have typed into the file."""
    raw = json.dumps([[n, v] for n, v in rows], ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 6)).decode()


def uncarry(token: str) -> list[tuple[int, dict[str, str]]]:
    """``carry`` undone; 422 (field ``file``) for anything that is not what ``carry`` made."""
    try:
        d = zlib.decompressobj()
        raw = d.decompress(base64.urlsafe_b64decode(token.encode()), MAX_CARRIED)
        if d.unconsumed_tail:
            raise ValueError("too large")
        data = json.loads(raw)
        rows = [(int(n), {str(k): _cell(v) for k, v in dict(v).items() if k in COLUMNS}) for n, v in data]
    except (ValueError, TypeError, zlib.error, binascii.Error, json.JSONDecodeError) as e:
        raise Invalid("file", CARRIED_BROKEN) from e
    if not rows or len(rows) > MAX_ROWS:
        raise Invalid("file", CARRIED_BROKEN)
    return rows


__all__ = ["COLUMNS", "MAX_ROWS", "ImportReport", "ImportRow", "RowError", "carry", "check", "read", "store",
           "to_input", "uncarry"]

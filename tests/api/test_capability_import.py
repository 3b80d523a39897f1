"""A catalogue imported from a spreadsheet: every row checked before anything is stored (the service, and
POST /api/v1/capabilities/import with dry_run)."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from app.errors import Invalid
from app.services import capability_import as ci

CSV = (
    "title,description,tracks,stages,kind,external_ref\n"
    "Steerable RF transseptal puncture system,Deflectable needle tip; RF energy crosses thick septa.,"
    "interventional_implant,rnd;animal_trial,product,TSP-1\n"
    ",No title here,imaging,,product,X-2\n"
    "Wearable ECG patch,14-day single-lead ECG,digital_health,moon_landing,product,ECG-3\n"
    "Duplicate reference,Same reference as row 2,imaging,,service,TSP-1\n"
    ",,,,,\n"
)


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _post(client, persona, name, data, **params):
    return client.post("/api/v1/capabilities/import", params=params, headers=persona.headers,
                       files={"file": (name, data)})


def test_read_understands_chinese_headers_names_and_lists():
    data = _xlsx([["标题", "描述", "赛道", "阶段", "类型", "地区", "编号", "备注"],
                  ["大动物介入实验", "猪、羊模型的心脏介入动物实验与病理评价。", "微创介入与植入", "动物实验、研发", "服务", "苏州", 1001, "x"]])
    rows, ignored = ci.read("catalogue.xlsx", data)
    assert ignored == ["备注"]
    assert rows == [(2, {"title": "大动物介入实验", "description": "猪、羊模型的心脏介入动物实验与病理评价。",
                         "tracks": "微创介入与植入", "stages": "动物实验、研发", "kind": "服务", "region": "苏州",
                         "external_ref": "1001"})]
    body = ci.to_input(rows[0][1])
    assert body["tracks"] == ["interventional_implant"] and body["stages"] == ["animal_trial", "rnd"]
    assert body["kind"] == "service" and body["region"] == "suzhou"


def test_read_refuses_what_it_cannot_read():
    for name, data in (("a.pdf", b"%PDF-1.4"), ("a.xlsx", b"PK\x03\x04 not really"), ("a.csv", b"colour,size\nred,1\n"),
                       ("a.csv", b"title,description\n")):
        with pytest.raises(Invalid) as e:
            ci.read(name, data)
        assert e.value.errors[0]["field"] == "file"
    too_many = "title,description,tracks\n" + "t,d,imaging\n" * (ci.MAX_ROWS + 1)
    with pytest.raises(Invalid):
        ci.read("big.csv", too_many.encode())


def test_csv_in_gb18030_as_excel_saves_it():
    rows, _ = ci.read("c.csv", "标题,描述,赛道\n超声,床旁超声,医学影像\n".encode("gb18030"))
    assert rows == [(2, {"title": "超声", "description": "床旁超声", "tracks": "医学影像"})]


def test_carried_rows_come_back_only_as_carried():
    rows = [(2, {"title": "A", "description": "B", "tracks": "imaging"})]
    assert ci.uncarry(ci.carry(rows)) == rows
    for bad in ("", "not base64 !!", "eJwLSS0uUcjMK0nNKyktUchNLS5OTE8FAGRZCBQ="):
        with pytest.raises(Invalid):
            ci.uncarry(bad)


def test_dry_run_reports_each_rows_errors_and_stores_nothing(client, world):
    c = world["company"]
    r = _post(client, c, "cat.csv", CSV.encode())
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["dry_run"] and rep["rows"] == 4 and rep["valid"] == 1 and rep["invalid"] == 3 and rep["stored"] == 0
    fields = {(e["row"], e["field"]) for e in rep["errors"]}
    assert fields == {(3, "rows.3.title"), (4, "rows.4.stages"), (5, "rows.5.external_ref")}
    assert client.get("/api/v1/capabilities", headers=c.headers).json()["total"] == 0
    # the same file, all or none: 422 naming the rows, nothing stored
    r = _post(client, c, "cat.csv", CSV.encode(), dry_run="false")
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {f for _, f in fields}
    assert client.get("/api/v1/capabilities", headers=c.headers).json()["total"] == 0


def test_errors_in_the_callers_language(client, world):
    r = client.post("/api/v1/capabilities/import", headers={**world["company"].headers, "Accept-Language": "zh-CN"},
                    files={"file": ("cat.csv", CSV.encode())})
    messages = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert messages["rows.5.external_ref"] == "编号 TSP-1 已在第 2 行出现。"
    assert messages["rows.4.stages"].startswith("须为以下之一")
    r = client.post("/api/v1/capabilities/import", headers={**world["company"].headers, "Accept-Language": "zh-CN"},
                    files={"file": ("cat.pdf", b"%PDF")})
    assert r.status_code == 422 and r.json()["errors"][0]["message"].startswith("请上传 CSV 或 XLSX")


def test_skip_invalid_stores_the_valid_rows_and_a_second_import_sees_them(client, world):
    c = world["company"]
    r = _post(client, c, "cat.csv", CSV.encode(), dry_run="false", skip_invalid="true")
    assert r.status_code == 200 and r.json()["stored"] == 1
    item = r.json()["items"][0]
    assert item["external_ref"] == "TSP-1" and item["stages"] == ["rnd", "animal_trial"]
    assert item["organisation"]["id"] == c.org_id
    again = _post(client, c, "cat.csv", CSV.encode()).json()
    assert again["valid"] == 0 and {"row": 2, "field": "rows.2.external_ref"}.items() <= again["errors"][0].items()


def test_xlsx_import_all_valid(client, world):
    data = _xlsx([["title", "description", "tracks", "certifications"],
                  ["Animal study design", "GLP large-animal cardiac studies", "biotech_rnd", "GLP, AAALAC"],
                  ["Pilot line", "Class III catheter pilot manufacturing", "interventional_implant", "ISO13485"]])
    r = _post(client, world["lab"], "lab.xlsx", data, dry_run="false")
    assert r.status_code == 200 and r.json()["stored"] == 2
    assert r.json()["items"][0]["certifications"] == ["GLP", "AAALAC"]


def test_only_companies_import(client, world):
    r = _post(client, world["hospital"], "cat.csv", CSV.encode())
    assert r.status_code == 403

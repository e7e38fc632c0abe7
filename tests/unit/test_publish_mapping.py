"""CSV/JSONL -> leads.captured.v1 mapping of `leadflow publish`, and the example lead file."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from cli.config import resolve_bootstrap
from cli.publish import InputError, check_input, iter_csv, iter_jsonl, row_to_captured
from cli.tail import summarize
from shared.schemas.events import LeadCaptured

if TYPE_CHECKING:
    from types import ModuleType

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples"
CONTACTS = ("phone", "email", "wechat")


def _load_make_leads() -> ModuleType:
    """Import deploy/examples/make_leads.py, which is a script, not a package module."""
    spec = importlib.util.spec_from_file_location("make_leads", EXAMPLES / "make_leads.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


def _example_rows() -> list[dict[str, str]]:
    """The committed example file, row by row."""
    with (EXAMPLES / "leads.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_flat_headers_map_to_person_company_and_top_level() -> None:
    row = {
        "external_id": "X-1", "name": "王伟", "title": "销售总监", "phone": "138 0013 8000",
        "email": "wang.wei@yunfan.cn", "wechat": "wangwei_88", "company": "上海云帆信息技术有限公司",
        "domain": "yunfan.cn", "industry": "软件", "employees": "320", "country": "中国",
        "province": "上海", "city": "上海", "product_interest": "crm", "campaign": "2024-shanghai-expo",
    }  # fmt: skip
    payload = row_to_captured(row, "trade-show")
    assert payload == {
        "source": "trade-show",
        "external_id": "X-1",
        "campaign": "2024-shanghai-expo",
        "product_interest": ["crm"],
        "person": {
            "name": "王伟", "title": "销售总监", "phone": "138 0013 8000",
            "email": "wang.wei@yunfan.cn", "wechat": "wangwei_88",
        },
        "company": {
            "name": "上海云帆信息技术有限公司", "domain": "yunfan.cn", "industry": "软件",
            "employees": 320, "country": "中国", "region": "上海", "city": "上海",
        },
    }  # fmt: skip
    LeadCaptured.model_validate(payload)


def test_unknown_columns_become_attributes_and_headers_are_case_insensitive() -> None:
    payload = row_to_captured({" Email ": "a@b.co", "booth": "A12", "lead_source_detail": "名片扫描"}, "csv-import")
    assert payload["person"] == {"email": "a@b.co"}
    assert payload["attributes"] == {"booth": "A12", "lead_source_detail": "名片扫描"}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("crm;erp", ["crm", "erp"]),
        ("crm; erp ,cloud", ["crm", "erp", "cloud"]),
        ("CRM;;", ["CRM"]),
        ("crm\uff1berp\uff0canalytics", ["crm", "erp", "analytics"]),  # full-width semicolon and comma
    ],
)
def test_product_interest_is_split_on_semicolons_and_commas(cell: str, expected: list[str]) -> None:
    assert row_to_captured({"product_interest": cell, "email": "a@b.co"}, "s")["product_interest"] == expected


@pytest.mark.parametrize(("cell", "employees"), [("5", 5), ("1,200", 1200), ("50000", 50000)])
def test_numeric_employees_go_to_the_company(cell: str, employees: int) -> None:
    payload = row_to_captured({"employees": cell}, "s")
    assert payload["company"] == {"employees": employees}
    assert "attributes" not in payload


@pytest.mark.parametrize("cell", ["50-200", "约500人", "1000+", "unknown", "-5", "12.5", "1,20"])
def test_non_numeric_employees_are_kept_as_text_attributes(cell: str) -> None:
    payload = row_to_captured({"employees": cell, "email": "a@b.co"}, "s")
    assert payload["attributes"] == {"employees": cell}
    assert "company" not in payload
    LeadCaptured.model_validate(payload)


def test_empty_and_blank_cells_are_absent() -> None:
    payload = row_to_captured({"name": "", "phone": "   ", "email": "a@b.co", "company": None, "": "x"}, "s")
    assert payload == {"source": "s", "person": {"email": "a@b.co"}}


def test_a_row_without_any_contact_is_still_produced() -> None:
    payload = row_to_captured({"external_id": "X-9", "name": "李娜", "company": "某某公司"}, "csv-import")
    assert payload["external_id"] == "X-9"
    assert not any(payload["person"].get(key) for key in CONTACTS)


def test_a_row_with_nothing_but_the_source_is_still_produced() -> None:
    assert row_to_captured({"name": "", "email": ""}, "csv-import") == {"source": "csv-import"}


def test_iter_csv_reads_a_bom_and_keeps_extra_cells(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("\ufeffexternal_id,email\nA-1,a@b.co\nA-2,c@d.co,surplus\n".encode())
    records = list(iter_csv(path, "csv-import"))
    assert [record.payload["external_id"] for record in records if record.payload] == ["A-1", "A-2"]
    assert records[1].payload is not None
    assert records[1].payload["attributes"] == {"extra_cells": "surplus"}
    assert [record.line for record in records] == [2, 3]


def test_a_csv_that_is_not_utf8_is_refused_before_sending(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("name,email\n王伟,a@b.co\n".encode("gbk"))
    with pytest.raises(InputError, match="line 2"):
        check_input(path)


def test_iter_jsonl_reports_bad_lines_with_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "leads.jsonl"
    good = {"source": "web", "person": {"email": "a@b.co"}}
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(good).encode() + b"\n"
        b"[1, 2]\n"
        b"\n"
        b"{not json\n"
        b"\xff\xfe\n"
        b'"a string"\n' + json.dumps(good | {"external_id": "J-6"}).encode() + b"\n"
    )
    records = list(iter_jsonl(path))
    assert [(record.line, record.payload is not None) for record in records] == [
        (1, True), (2, False), (4, False), (5, False), (6, False), (7, True),
    ]  # fmt: skip
    assert records[0].payload == good
    assert "not a JSON object" in (records[1].error or "")
    assert "invalid JSON" in (records[2].error or "")
    assert "UTF-8" in (records[3].error or "")
    assert check_input(path) == 7


def test_every_example_row_validates_unless_it_is_deliberately_invalid() -> None:
    rows = _example_rows()
    assert 380 <= len(rows) <= 420
    invalid = []
    for row in rows:
        payload = row_to_captured(row, "csv-import")
        LeadCaptured.model_validate(payload)  # the schema itself never refuses a row
        if not any(payload.get("person", {}).get(key) for key in CONTACTS):
            invalid.append(row["external_id"])
    assert 10 <= len(invalid) <= 20


def test_example_rows_without_contact_would_fail_a_contact_rule() -> None:
    """A sanity check on the file: the invalid rows are exactly those with no phone, email and wechat."""
    leads = _load_make_leads().build()
    generated = {lead.row["external_id"] for lead in leads if lead.kind.startswith("invalid")}
    no_contact = {row["external_id"] for row in _example_rows() if not any(row[key] for key in CONTACTS)}
    assert generated == no_contact


def test_example_duplicates_share_an_email_or_phone_with_an_earlier_row() -> None:
    leads = _load_make_leads().build()
    duplicates = [lead for lead in leads if lead.kind.startswith("duplicate")]
    assert 25 <= len(duplicates) <= 35
    by_id = {lead.row["external_id"]: lead.row for lead in leads}
    for lead in duplicates:
        original = by_id[lead.of]
        assert lead.row["external_id"] > original["external_id"]
        same_email = lead.row["email"] and lead.row["email"].lower() == original["email"].lower()
        same_phone = lead.row["phone"] and _digits(lead.row["phone"])[-8:] == _digits(original["phone"])[-8:]
        assert same_email or same_phone, lead.row["external_id"]


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def test_the_example_file_is_the_generator_output(tmp_path: Path) -> None:
    make_leads = _load_make_leads()
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    make_leads.main(first)
    make_leads.main(second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == (EXAMPLES / "leads.csv").read_bytes()


def test_bootstrap_resolution_order(tmp_path: Path) -> None:
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"bootstrap_servers": "127.0.0.1:19092"}), encoding="utf-8")
    env = {"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}
    assert resolve_bootstrap("flag:1", env, stack) == "flag:1"
    assert resolve_bootstrap(None, env, stack) == "kafka:9092"
    assert resolve_bootstrap(None, {}, stack) == "127.0.0.1:19092"
    assert resolve_bootstrap(None, {}, tmp_path / "absent.json") == "127.0.0.1:9092"
    stack.write_text("{broken", encoding="utf-8")
    assert resolve_bootstrap(None, {}, stack) == "127.0.0.1:9092"


def test_lead_captured_still_refuses_what_ingest_must_reject() -> None:
    """Why the mapping must not validate: a missing source would make pydantic raise, not report."""
    with pytest.raises(ValidationError):
        LeadCaptured.model_validate({"person": {"email": "a@b.co"}})


def test_tail_masks_the_person_but_not_the_company() -> None:
    """`leadflow tail` shares the CLI: its one-line summaries never show a person's identifiers in clear."""
    payload = row_to_captured(
        {"name": "欧阳娜娜", "phone": "+86 138 0013 8000", "email": "Nana@yunfan.cn", "wechat": "oyn_88",
         "company": "上海云帆信息技术有限公司"},
        "csv-import",
    )  # fmt: skip
    line = summarize("leads.captured", payload)
    for secret in ("欧阳娜娜", "0013", "Nana@", "oyn_88"):
        assert secret not in line
    assert "company.name=上海云帆信息技术有限公司" in line
    assert "person.email=N***@yunfan.cn" in line

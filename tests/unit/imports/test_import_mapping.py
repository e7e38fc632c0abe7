"""Column mapping of `leadflow import`: default headers, --mapping, --map, attributes, typed fields, stable ids."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cli.imports.fields import _ALIASES, DEFAULT_HEADERS, FIELD_PATHS, header_key
from cli.imports.mapping import ColumnMap, MappingError, Target, build_column_map, parse_map_options
from cli.imports.submission import stable_external_id, to_submission
from shared.schemas.events import LeadCaptured

pytestmark = pytest.mark.unit

SHANGHAI = ZoneInfo("Asia/Shanghai")


def submit(cells: dict[str, str], columns: ColumnMap | None = None, tz: dt.tzinfo = dt.UTC) -> dict[str, object]:
    submission = to_submission(cells, columns or ColumnMap(), "expo", tz)
    LeadCaptured.model_validate(submission)  # every mapped row has the contract's shape
    return submission


def test_every_alias_names_one_known_field_only() -> None:
    assert set(_ALIASES) <= FIELD_PATHS
    keys = [header_key(alias) for aliases in _ALIASES.values() for alias in aliases.split()]
    assert len(keys) == len(set(keys)), "an alias maps to two fields"


def test_english_headers_and_variants() -> None:
    cells = {
        "External ID": "X-1", "First Name": "Wei", "last-name": "Wang", "Job Title": "CTO", "Mobile": "138 0013 8000",
        "E-mail": "w@yunfan.cn", "WeChat": "ww", "Company Name": "Yunfan", "Website": "yunfan.cn", "Industry": "SaaS",
        "Employees": "1,200", "Country": "CN", "State": "Shanghai", "City": "Shanghai", "Product_Interest": "crm;erp",
        "Campaign": "expo-24", "Notes": "call me", "Marketing Consent": "yes", "consent_basis": "form",
        "utm_source": "g",
    }  # fmt: skip
    assert submit(cells) == {
        "source": "expo",
        "external_id": "X-1",
        "person": {"given_name": "Wei", "family_name": "Wang", "title": "CTO", "phone": "138 0013 8000",
                   "email": "w@yunfan.cn", "wechat": "ww"},
        "company": {"name": "Yunfan", "domain": "yunfan.cn", "industry": "SaaS", "employees": 1200, "country": "CN",
                    "region": "Shanghai", "city": "Shanghai"},
        "product_interest": ["crm", "erp"],
        "campaign": "expo-24",
        "message": "call me",
        "consent": {"marketing": True, "basis": "form"},
        "utm": {"source": "g"},
    }  # fmt: skip


def test_chinese_headers() -> None:
    cells = {
        "姓名": "王伟", "手机号码": "13800138000", "电子邮箱": "w@yunfan.cn", "微信号": "ww", "公司名称": "上海云帆",
        "职务": "销售总监", "所属行业": "软件", "员工人数": "320", "省份": "上海", "城市": "上海", "国家": "中国",
        "意向产品": "CRM、ERP", "展会": "2024上海展", "提交时间": "2024/5/1 10:00", "客户编号": "C-9", "备注": "回电",
        "同意营销": "是", "官网": "yunfan.cn",
    }  # fmt: skip
    submission = submit(cells, tz=SHANGHAI)
    assert submission["person"] == {"name": "王伟", "phone": "13800138000", "email": "w@yunfan.cn", "wechat": "ww",
                                    "title": "销售总监"}  # fmt: skip
    assert submission["company"] == {"name": "上海云帆", "industry": "软件", "employees": 320, "region": "上海",
                                     "city": "上海", "country": "中国", "domain": "yunfan.cn"}  # fmt: skip
    assert submission["product_interest"] == ["CRM", "ERP"]
    assert submission["campaign"] == "2024上海展"
    assert submission["captured_at"] == "2024-05-01T10:00:00+08:00"
    assert submission["external_id"] == "C-9"
    assert submission["message"] == "回电"
    assert submission["consent"] == {"marketing": True}
    assert "attributes" not in submission


@pytest.mark.parametrize(
    ("header", "path"),
    [("姓", "person.family_name"), ("名", "person.given_name"), ("联系人", "person.name"), ("座机", "person.phone"),
     ("单位", "company.name"), ("规模", "company.employees"), ("地区", "company.region"), ("市", "company.city"),
     ("ID", "external_id"), ("日期", "captured_at"), ("留言", "message"), ("手机号*", "person.phone"),
     ("person.email", "person.email"), ("company.region", "company.region")],
)  # fmt: skip
def test_more_default_headers(header: str, path: str) -> None:
    assert ColumnMap().resolve(header) == Target("field", path)


def test_unmapped_columns_become_string_attributes_and_empty_cells_are_omitted() -> None:
    submission = submit({"email": "a@x.io", "Booth": "B12", "Badge Type": "VIP", "empty": "  ", "name": ""})
    assert submission["attributes"] == {"Booth": "B12", "Badge Type": "VIP"}
    assert "person" in submission
    assert submission["person"] == {"email": "a@x.io"}


def test_tool_columns_of_rejected_files_are_ignored() -> None:
    submission = submit({"email": "a@x.io", "_row": "7", "_errors": "person.email: email_invalid: x", "_raw": "{"})
    assert "attributes" not in submission


def test_flattened_jsonl_attributes_keep_their_names() -> None:
    assert submit({"email": "a@x.io", "attributes.Booth": "B12"})["attributes"] == {"Booth": "B12"}


def test_a_second_column_for_the_same_field_is_kept_as_an_attribute() -> None:
    submission = submit({"手机": "13800138000", "座机": "021-5555"})
    assert submission["person"] == {"phone": "13800138000"}
    assert submission["attributes"] == {"座机": "021-5555"}


def test_unparseable_typed_values_go_to_attributes_never_crash() -> None:
    submission = submit({"email": "a@x.io", "employees": "50-200", "captured_at": "last week", "consent": "maybe"})
    assert "company" not in submission
    assert "captured_at" not in submission
    assert "consent" not in submission
    assert submission["attributes"] == {"employees": "50-200", "captured_at": "last week", "consent.marketing": "maybe"}


def test_captured_at_keeps_an_offset_and_applies_tz_to_naive_times() -> None:
    assert submit({"captured_at": "2024-05-01T10:00:00+02:00"})["captured_at"] == "2024-05-01T10:00:00+02:00"
    assert submit({"captured_at": "2024-05-01 10:00"})["captured_at"] == "2024-05-01T10:00:00+00:00"
    assert submit({"captured_at": "2024-05-01"}, tz=SHANGHAI)["captured_at"] == "2024-05-01T00:00:00+08:00"


def test_consent_false_is_sent_not_omitted() -> None:
    assert submit({"email": "a@x.io", "consent": "否"})["consent"] == {"marketing": False}


def test_external_id_is_a_stable_content_hash() -> None:
    row = {"name": "Ann", "email": "ann@x.io", "Booth": "B1"}
    first, again = submit(row), submit(dict(reversed(row.items())))
    assert first["external_id"] == again["external_id"]
    assert str(first["external_id"]).startswith("row-")
    assert len(str(first["external_id"])) == len("row-") + 16
    fixed = submit({**row, "email": "ann@example.io"})
    assert fixed["external_id"] != first["external_id"]
    assert stable_external_id({"source": "a", "x": 1}) == stable_external_id({"source": "b", "x": 1})


def test_mapping_file_overrides_adds_and_ignores(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(
        "联系电话2: person.phone\n微信: null\nBooth: attributes.booth_no\nRep: campaign\n", encoding="utf-8"
    )
    columns = build_column_map(path, [])
    submission = submit({"联系电话2": "139", "微信": "ww", "Booth": "B1", "rep": "spring"}, columns)
    assert submission["person"] == {"phone": "139"}
    assert submission["attributes"] == {"booth_no": "B1"}
    assert submission["campaign"] == "spring"


def test_map_options_win_over_the_file_and_accept_aliases(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yml"
    path.write_text("Tel: person.wechat\n", encoding="utf-8")
    columns = build_column_map(path, ["Tel=phone", "Notes=", "Extra=attributes.extra"])
    assert columns.resolve("tel") == Target("field", "person.phone")
    assert columns.resolve("Notes") == Target("ignore")
    assert columns.resolve("Extra") == Target("attribute", "extra")


@pytest.mark.parametrize("option", ["nofield", "=person.email", "Tel=person.fax"])
def test_bad_map_options_are_usage_errors(option: str) -> None:
    with pytest.raises(MappingError):
        parse_map_options([option])


@pytest.mark.parametrize("text", ["- a\n- b\n", "Tel: [1]\n", "Tel: nosuch\n", "a: b: c: [\n"])
def test_bad_mapping_files_are_usage_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError):
        build_column_map(path, [])


def test_default_headers_cover_every_field_path() -> None:
    assert set(DEFAULT_HEADERS.values()) == FIELD_PATHS

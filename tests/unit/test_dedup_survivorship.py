"""Survivorship: the survivor keeps its values, fills gaps from the newcomer, keeps conflicts aside."""

from __future__ import annotations

import pytest

from services.dedup.survivorship import merge_records, record_of, unfill

pytestmark = pytest.mark.unit

SURVIVOR = {
    "person.name": "王伟",
    "person.phone": "+8613800138000",
    "company.name": "云帆科技有限公司",
    "product_interest": ["CRM"],
}
NEWCOMER = {
    "person.name": "王伟",
    "person.phone": "+8613911112222",
    "person.email": "wang.wei@yunfan.cn",
    "person.title": "销售总监",
    "product_interest": ["CRM", "ERP"],
}


def test_empty_fields_are_filled_and_conflicts_kept_aside_not_overwritten() -> None:
    merged = merge_records(SURVIVOR, NEWCOMER)
    assert merged.record["person.phone"] == "+8613800138000"  # the survivor's value stays
    assert merged.conflicts == {"person.phone": "+8613911112222"}  # the newcomer's is history
    assert merged.filled == {
        "person.email": "wang.wei@yunfan.cn",
        "person.title": "销售总监",
        "product_interest": ["ERP"],
    }
    assert merged.record["product_interest"] == ["CRM", "ERP"]


def test_equal_values_in_another_case_are_no_conflict() -> None:
    merged = merge_records({"company.city": "Shanghai"}, {"company.city": "shanghai "})
    assert merged.conflicts == {}
    assert merged.filled == {}


def test_unfill_takes_back_exactly_what_a_merge_filled() -> None:
    merged = merge_records(SURVIVOR, NEWCOMER)
    assert unfill(merged.record, merged.filled) == SURVIVOR


def test_unfill_leaves_a_value_changed_since() -> None:
    merged = merge_records(SURVIVOR, NEWCOMER)
    later = {**merged.record, "person.title": "VP Sales"}
    assert unfill(later, merged.filled)["person.title"] == "VP Sales"


def test_record_of_flattens_the_ingested_payload() -> None:
    payload = {
        "source": "web",
        "campaign": "expo-2026",
        "person": {"name": "王伟", "phone": "+8613800138000", "email": ""},
        "company": {"name": "云帆", "employees": 120},
        "product_interest": ["CRM"],
    }
    assert record_of(payload) == {
        "person.name": "王伟",
        "person.phone": "+8613800138000",
        "company.name": "云帆",
        "company.employees": 120,
        "campaign": "expo-2026",
        "product_interest": ["CRM"],
    }

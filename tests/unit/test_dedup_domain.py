"""dedup's pure logic: the identity keys of a lead and which existing lead it merges into."""

from __future__ import annotations

import uuid

import pytest

from services.dedup.domain import choose_survivor, identity_keys
from shared.schemas.events import Evidence, LeadIngested, Person, Quality

pytestmark = pytest.mark.unit

LEAD_A = uuid.UUID("aaaaaaaa-0000-4000-8000-000000000001")
LEAD_B = uuid.UUID("bbbbbbbb-0000-4000-8000-000000000002")
LEAD_C = uuid.UUID("cccccccc-0000-4000-8000-000000000003")


def lead(**person: str | None) -> LeadIngested:
    return LeadIngested(source="web-form", person=Person(**person), quality=Quality(score=0.1), original={})


# --- identity keys ---------------------------------------------------------------------------------


def test_identity_keys_come_strongest_first_whatever_the_field_order() -> None:
    keys = identity_keys(lead(wechat="wangwei_88", phone="13800138000", email="wang.wei@yunfan.cn"))
    assert keys == [("email", "wang.wei@yunfan.cn"), ("phone", "13800138000"), ("wechat", "wangwei_88")]


def test_identity_keys_omit_missing_and_empty_contacts() -> None:
    assert identity_keys(lead(email=None, phone="13800138000", wechat="")) == [("phone", "13800138000")]


def test_identity_keys_ignore_non_identifying_fields() -> None:
    assert identity_keys(lead(name="王伟", title="销售总监")) == []


# --- survivor --------------------------------------------------------------------------------------


def test_no_owners_means_a_new_lead() -> None:
    assert choose_survivor({}) is None


def test_email_owner_beats_phone_owner() -> None:
    survivor, evidence = choose_survivor({"phone": LEAD_B, "email": LEAD_A}) or (None, [])
    assert survivor == LEAD_A
    assert evidence == [Evidence(rule="exact_email", keys=["email"], score=1.0)]  # the phone points elsewhere


def test_phone_owner_beats_wechat_owner() -> None:
    survivor, _ = choose_survivor({"wechat": LEAD_C, "phone": LEAD_B}) or (None, [])
    assert survivor == LEAD_B


def test_a_single_weaker_key_still_finds_its_owner() -> None:
    survivor, evidence = choose_survivor({"wechat": LEAD_C}) or (None, [])
    assert survivor == LEAD_C
    assert [e.rule for e in evidence] == ["exact_wechat"]


def test_evidence_lists_every_key_the_survivor_matched_in_priority_order() -> None:
    survivor, evidence = choose_survivor({"wechat": LEAD_A, "phone": LEAD_A, "email": LEAD_A}) or (None, [])
    assert survivor == LEAD_A
    assert [(e.rule, e.keys, e.score) for e in evidence] == [
        ("exact_email", ["email"], 1.0),
        ("exact_phone", ["phone"], 1.0),
        ("exact_wechat", ["wechat"], 1.0),
    ]


def test_evidence_leaves_out_keys_owned_by_other_leads() -> None:
    _, evidence = choose_survivor({"email": LEAD_A, "phone": LEAD_B, "wechat": LEAD_A}) or (None, [])
    assert [e.rule for e in evidence] == ["exact_email", "exact_wechat"]


def test_contacts_ingest_flagged_invalid_are_no_identity_keys() -> None:
    junk = LeadIngested(
        source="web-form",
        person=Person(phone="12345", email="nope", wechat="wangwei_88"),
        quality=Quality(score=0.1, invalid=["person.phone", "person.email"]),
        original={},
    )
    assert identity_keys(junk) == [("wechat", "wangwei_88")]


def test_the_email_key_is_the_provider_folded_address() -> None:
    folded = LeadIngested.model_validate(
        {
            "source": "web-form",
            "person": {"email": "j.o.h.n+news@gmail.com"},
            "quality": {"score": 0.1},
            "original": {},
            "normalised": {
                "email": {"normalised": "j.o.h.n+news@gmail.com", "canonical": "john@gmail.com", "valid": True}
            },
        }
    )
    assert identity_keys(folded) == [("email", "john@gmail.com")]

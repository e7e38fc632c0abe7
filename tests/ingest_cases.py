"""Bad and awkward input for ingest: one table, run by the unit tests (domain), over HTTP and over Kafka."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Check = Callable[[dict[str, Any]], bool]
BASE_PERSON = {"name": "王伟", "phone": "13800138000"}


@dataclass(frozen=True)
class Case:
    name: str
    lead: dict[str, Any]
    accepted: bool
    field: str | None = None  # rejected: the field an error names
    code: str | None = None  # rejected: that error's code (prefix)
    check: Check | None = None  # accepted: a property of the ingested lead (JSON form)
    flags: tuple[str, ...] = ()  # accepted: quality flags it must carry
    kafka_only: bool = False


def lead(**parts: Any) -> dict[str, Any]:
    return {"person": dict(BASE_PERSON), **parts}


def person(**fields: Any) -> dict[str, Any]:
    return {"person": fields}


def _name(expected: str) -> Check:
    return lambda d: d["person"]["name"] == expected


CASES: list[Case] = [
    # --- refused, with the field named -------------------------------------------------------------
    Case(
        "no source", {"person": dict(BASE_PERSON)} | {"source": None}, False, "source", "string_type", kafka_only=True
    ),
    Case("source not a string", lead(source=123), False, "source", "string_type", kafka_only=True),
    Case("person not an object", {"person": "bob"}, False, "person", "model_type"),
    Case("person null", {"person": None}, False, "person", "model_type"),
    Case("no contact at all", person(name="王伟"), False, "person", "no_contact"),
    Case("only blank contacts", person(phone="  ", email="", wechat="\t"), False, "person", "no_contact"),
    Case("impossible phone only", person(phone="12345"), False, "person.phone", "phone_"),
    Case("letters for a phone", person(phone="call me maybe"), False, "person.phone", "phone_"),
    Case("phone that is too long", person(phone="+86 138 0013 8000 1234 5678 99"), False, "person.phone", "phone_"),
    Case("invalid email only", person(email="not-an-email"), False, "person.email", "email_invalid"),
    Case("email with two @", person(email="a@@b.com"), False, "person.email", "email_invalid"),
    Case("email without domain dot", person(email="wang@localhost"), False, "person.email", "email_invalid"),
    Case("phone a number not a string", person(phone=13800138000), False, "person.phone", "string_type"),
    Case("negative employees", lead(company={"employees": -5}), False, "company.employees", "greater_than_equal"),
    Case("employees a word", lead(company={"employees": "many"}), False, "company.employees", "int_parsing"),
    Case("employees fractional", lead(company={"employees": 3.5}), False, "company.employees", "int_from_float"),
    Case("negative revenue", lead(company={"annual_revenue": -1}), False, "company.annual_revenue", "greater_than"),
    Case("captured_at not a date", lead(captured_at="yesterday"), False, "captured_at", "datetime"),
    Case("captured_at without zone", lead(captured_at="2026-01-01T10:00:00"), False, "captured_at", "timezone_aware"),
    Case("product_interest a string", lead(product_interest="crm"), False, "product_interest", "list_type"),
    Case("nested attribute", lead(attributes={"a": {"b": 1}}), False, "attributes.a", "attribute_type"),
    Case("consent flag a word", lead(consent={"marketing": "maybe"}), False, "consent.marketing", "bool_parsing"),
    Case("utm a string", lead(utm="google"), False, "utm", "model_type"),
    Case("external_id a number", lead(external_id=12345), False, "external_id", "string_type"),
    Case("huge name", person(name="王" * 100_000, phone="13800138000"), False, "person.name", "too_long"),
    Case("huge message", lead(message="x" * 1_000_000), False, "message", "too_long"),
    Case("huge attribute", lead(attributes={"note": "y" * 50_000}), False, "attributes.note", "too_long"),
    Case(
        "too many interests",
        lead(product_interest=[f"p{i}" for i in range(100)]),
        False,
        "product_interest",
        "too_many",
    ),
    Case("too many attributes", lead(attributes={f"k{i}": i for i in range(500)}), False, "attributes", "too_many"),
    # --- accepted, cleaned or flagged -----------------------------------------------------------------
    Case(
        "unknown top-level field kept",
        lead(favourite_colour="blue"),
        True,
        check=lambda d: d["favourite_colour"] == "blue",
    ),
    Case("unknown person field kept", {"person": {**BASE_PERSON, "nickname": "伟哥"}}, True),
    Case(
        "emoji in name: kept in the original, not in the name",
        person(name="王伟😀", phone="13800138000"),
        True,
        check=lambda d: d["person"]["name"] == "王伟" and d["original"]["person"]["name"] == "王伟😀",
    ),
    Case("emoji in message", lead(message="想了解报价 👍🚀"), True, check=lambda d: d["message"] == "想了解报价 👍🚀"),
    Case(
        "html in company name",
        lead(company={"name": "<script>alert(1)</script>"}),
        True,
        check=lambda d: d["original"]["company"]["name"] == "<script>alert(1)</script>",
    ),
    Case(
        "sql injection in name",
        person(name="Robert'); DROP TABLE ingest.submissions;--", phone="13800138000"),
        True,
        check=lambda d: "DROP TABLE" in d["original"]["person"]["name"],
    ),
    Case(
        "control characters removed",
        person(name="王\x00伟\x07", phone="13800138000"),
        True,
        check=_name("王伟"),
        flags=("control_characters_removed",),
    ),
    Case(
        "zero-width space in email",
        person(email="wang\u200b.wei@yunfan.cn"),
        True,
        check=lambda d: d["person"]["email"] == "wang.wei@yunfan.cn",
        flags=("control_characters_removed",),
    ),
    Case(
        "bidi override in company",
        lead(company={"name": "\u202eACME Ltd"}),
        True,
        flags=("control_characters_removed",),
    ),
    Case(
        "future timestamp",
        lead(captured_at="2099-01-01T00:00:00+00:00"),
        True,
        check=lambda d: not d["captured_at"].startswith("2099"),
        flags=("captured_at_in_future",),
    ),
    Case(
        "impossible phone but valid email",
        person(phone="12345", email="wang@yunfan.cn"),
        True,
        check=lambda d: "person.phone" in d["quality"]["invalid"] and d["original"]["person"]["phone"] == "12345",
        flags=("person_phone_invalid",),
    ),
    Case(
        "invalid email but valid phone",
        person(phone="13800138000", email="wang@@yunfan"),
        True,
        check=lambda d: "person.email" in d["quality"]["invalid"],
    ),
    Case(
        "full-width phone",
        person(phone="１３８００１３８０００"),
        True,
        check=lambda d: d["person"]["phone"] == "+8613800138000",
    ),
    Case(
        "0086 prefix",
        person(phone="0086 138 0013 8000"),
        True,
        check=lambda d: d["person"]["phone"] == "+8613800138000",
    ),
    Case(
        "gmail folding",
        person(email="J.O.H.N+promo@GMail.com"),
        True,
        check=lambda d: d["normalised"]["email"]["canonical"] == "john@gmail.com",
    ),
    Case(
        "traditional company name",
        lead(company={"name": "臺灣積體電路製造股份有限公司"}),
        True,
        check=lambda d: d["company"]["name"] == "台湾积体电路制造股份有限公司",
    ),
    Case("no consent", lead(), True, check=lambda d: d["may_email"] is False, flags=("no_marketing_consent",)),
    Case(
        "consent given",
        lead(consent={"marketing": True, "basis": "form-checkbox"}),
        True,
        check=lambda d: d["may_email"] is True,
    ),
    Case("wechat only", person(wechat="wangwei_88"), True),
    Case(
        "blank strings are missing",
        lead(company={"name": "", "city": "  "}),
        True,
        check=lambda d: d["company"].get("name") is None,
    ),
    Case(
        "employees as digits", lead(company={"employees": "50"}), True, check=lambda d: d["company"]["employees"] == 50
    ),
    Case("consent as text true", lead(consent={"marketing": "true"}), True, check=lambda d: d["may_email"] is True),
    Case("offset timestamp", lead(captured_at="2026-03-01T09:30:00+08:00"), True),
    Case("no source over http is the key's channel", {"person": dict(BASE_PERSON)}, True),
]

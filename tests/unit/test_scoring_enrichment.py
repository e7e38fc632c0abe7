"""scoring's enrichment: the offline providers, provenance, and leads that go on when a provider fails."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from services.scoring.enrichment import (
    Enricher,
    Enrichment,
    FirmographicProvider,
    FirmographicTable,
    PhoneRegionProvider,
    Provider,
    TitleProvider,
    default_providers,
    domain_key,
    read_firmographics_csv,
)
from services.scoring.titles import FUNCTIONS, SENIORITIES, parse_title
from shared.normalise import normalise_company, normalise_email, normalise_phone

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "scoring" / "firmographics.csv"
# 08:30 in Beijing: provenance is written in UTC.
NOW = datetime(2024, 9, 17, 8, 30, tzinfo=timezone(timedelta(hours=8)))
AT = "2024-09-17T00:30:00+00:00"


class FixedClock:
    def now(self) -> datetime:
        return NOW


def lead(  # noqa: PLR0913 - one keyword per field a case sets
    *,
    title: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    company: str | None = None,
    domain: str | None = None,
    province: str | None = None,
    normalised: bool = True,
) -> dict[str, Any]:
    """A `leads.deduplicated.v1` payload as a dict, with ingest's normalised details when `normalised`."""
    details: dict[str, Any] = {"firmographics": {}}
    if normalised:
        if (p := normalise_phone(phone)) is not None:
            details["phone"] = {k: v for k, v in asdict(p).items() if k not in ("raw", "digits")}
        if (e := normalise_email(email)) is not None:
            details["email"] = {"domain": e.domain, "free_mail": e.free_mail, "valid": e.valid}
        if (c := normalise_company(company)) is not None:
            details["company"] = {"original": c.original, "normalised": c.normalised, "core": c.core}
    return {
        "source": "web-form",
        "person": {"name": "测试", "title": title, "phone": phone, "email": email},
        "company": {"name": company, "domain": domain},
        "location": {"country": "CN" if province else None, "province": province},
        "normalised": details,
        "quality": {"score": 0.5},
        "dedup": {"verdict": "new"},
    }


@pytest.fixture(scope="module")
def table() -> FirmographicTable:
    return FirmographicTable.from_rows(read_firmographics_csv(SAMPLE))


# --- titles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "seniority", "function"),
    [
        ("CEO", "c_level", "management"),
        ("Chief Technology Officer", "c_level", "engineering"),
        ("Chief Financial Officer", "c_level", "finance"),
        ("VP Sales", "vp", "sales"),
        ("Vice President of Marketing", "vp", "marketing"),
        ("Senior Vice-President, Procurement", "vp", "procurement"),
        ("IT Director", "director", "it"),
        ("Director of Operations", "director", "operations"),
        ("Head of Procurement", "director", "procurement"),
        ("Head of IT", "director", "it"),
        ("Procurement Manager", "manager", "procurement"),
        ("Key Account Manager", "manager", "sales"),
        ("Software Engineer", "staff", "engineering"),
        ("Sr. Account Executive", "staff", "sales"),
        ("Sales Operations Analyst", "staff", "sales"),  # the first function named
        ("Operations Coordinator", "staff", "operations"),  # no COO in "coordinator"
        ("Executive Assistant to the CEO", "staff", "management"),
        ("HR Business Partner", "staff", "hr"),  # no partner of the firm
        ("Senior Partner Account Manager", "manager", "sales"),
        ("Managing Partner", "c_level", "management"),
        ("President & CEO", "c_level", "management"),
        ("销售总监", "director", "sales"),
        ("銷售總監", "director", "sales"),  # traditional characters
        ("技术副总裁", "vp", "engineering"),
        ("副总经理", "vp", "management"),
        ("采购经理", "manager", "procurement"),
        ("财务主管", "manager", "finance"),
        ("信息部主管", "manager", "it"),
        ("IT经理", "manager", "it"),
        ("集团CEO", "c_level", "management"),
        ("总经理", "c_level", "management"),
        ("董事长", "c_level", "management"),
        ("总经理助理", "staff", "management"),  # the GM's assistant is no GM
        ("董事会秘书", "vp", "management"),
        ("人力资源专员", "staff", "hr"),
        ("工程师", "staff", "engineering"),
        ("ＣＥＯ", "c_level", "management"),  # full-width
        ("Director", "director", None),
        ("Coordinator", "staff", None),
        ("Musician", None, None),
        ("", None, None),
    ],
)
def test_title_seniority_and_function(title: str, seniority: str | None, function: str | None) -> None:
    info = parse_title(title)
    assert (info.seniority, info.function) == (seniority, function)
    assert info.seniority is None or info.seniority in SENIORITIES
    assert info.function is None or info.function in FUNCTIONS


def test_title_provider_sets_only_what_the_title_says() -> None:
    leads = [lead(title="VP Sales"), lead(title="Musician"), lead(title=None), lead(title="Director")]
    assert TitleProvider().enrich_batch(leads) == [
        {"person.seniority": "vp", "person.function": "sales"},
        {},
        {},
        {"person.seniority": "director"},
    ]


# --- firmographics ---------------------------------------------------------------------------------


def test_sample_csv_reads_typed_rows() -> None:
    rows = read_firmographics_csv(SAMPLE)
    assert len(rows) == 40
    assert rows[0] == {
        "name": "南京智泰网络科技有限公司",
        "domain": "zhitai.cn",
        "industry": "互联网",
        "employees": 44000,
        "annual_revenue": 2.1e9,
        "hq_country": "CN",
        "hq_region": "江苏",
    }
    irongate = next(row for row in rows if row["domain"] == "irongate.com.sg")
    assert (irongate["employees"], irongate["annual_revenue"], irongate["hq_region"]) == (None, None, None)


def test_csv_bad_number_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "firms.csv"
    path.write_text("name,domain,employees\nA Co,a.cn,12\nB Co,b.cn,about twenty\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3: employees: 'about twenty' is not a whole number"):
        read_firmographics_csv(path)


def test_csv_tolerates_missing_columns_blanks_and_thousands(tmp_path: Path) -> None:
    path = tmp_path / "firms.csv"
    path.write_text('\ufeffDomain , Employees,Annual_Revenue\nc.cn,"1,200",\n,,\n', encoding="utf-8")
    rows = read_firmographics_csv(path)
    assert rows[0] == {"name": None, "domain": "c.cn", "industry": None, "employees": 1200, "annual_revenue": None,
                       "hq_country": None, "hq_region": None}  # fmt: skip
    assert FirmographicTable.from_rows(rows).find_domain("c.cn") is not None


def test_csv_without_name_or_domain_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "firms.csv"
    path.write_text("industry,employees\nSoftware,10\n", encoding="utf-8")
    with pytest.raises(ValueError, match="name or a domain column"):
        read_firmographics_csv(path)


def test_database_rows_with_decimals_and_a_bad_row() -> None:
    rows = [{"name": "Acme Robotics Ltd", "domain": "acme-robotics.com", "employees": 40,
             "annual_revenue": Decimal("1.5E+7"), "hq_country": "United Kingdom",
             "industry": "Robotics manufacturing"}]  # fmt: skip
    firm = FirmographicTable.from_rows(rows).find_name("acme robotics")
    assert firm is not None
    assert dict(firm.values) == {"company.industry": "manufacturing", "company.employees": 40,
                                 "company.annual_revenue": 1.5e7, "company.hq_country": "GB"}  # fmt: skip
    with pytest.raises(ValueError, match=r"row 2: annual_revenue: -5 is not a number"):
        FirmographicTable.from_rows([*rows, {"name": "Bad", "annual_revenue": -5}])


def test_by_company_name_with_or_without_ingests_match_key(table: FirmographicTable) -> None:
    expected = {"company.industry": "pharma_biotech", "company.employees": 860, "company.annual_revenue": 1.2e8,
                "company.hq_country": "CN", "company.hq_region": "广东"}  # fmt: skip
    provider = FirmographicProvider(table)
    # The lead's name has 市 and the table's not: both reduce to the match key 启科生物科技.
    found = provider.enrich_batch([lead(company="深圳市启科生物科技有限公司"),
                                   lead(company="深圳市启科生物科技有限公司", normalised=False)])  # fmt: skip
    assert found == [expected, expected]


def test_one_match_key_for_two_firms_is_settled_by_the_province(table: FirmographicTable) -> None:
    provider = FirmographicProvider(table)
    found = provider.enrich_batch(
        [
            lead(company="数达网络科技有限公司", province="湖北"),
            lead(company="数达网络科技有限公司", province="北京"),
            lead(company="数达网络科技有限公司"),  # unknown province: no guess
        ]
    )
    assert [f.get("company.employees") for f in found] == [890, 25000, None]


def test_by_company_domain(table: FirmographicTable) -> None:
    found = FirmographicProvider(table).enrich_batch(
        [lead(company="Apexline", domain="https://www.Apexline.com/about")]
    )
    assert found == [{"company.industry": "energy_utilities", "company.employees": 5000,
                      "company.annual_revenue": 1.8e9, "company.hq_country": "US",
                      "company.hq_region": "CA"}]  # fmt: skip


def test_by_company_email_domain_names_the_company(table: FirmographicTable) -> None:
    found = FirmographicProvider(table).enrich_batch([lead(email="j.doe@mail.cedarwind.com")])
    assert found[0]["company.name"] == "Cedarwind Inc."
    assert found[0]["company.employees"] == 730


def test_free_mail_domains_are_no_company() -> None:
    table = FirmographicTable.from_rows([{"name": "Penguin Messaging", "domain": "qq.com", "employees": 100000}])
    provider = FirmographicProvider(table)
    found = provider.enrich_batch(
        [
            lead(email="12345678@qq.com"),
            lead(email="12345678@qq.com", normalised=False),  # the raw address is read again
            lead(email="12345678@qq.com", domain="qq.com"),  # the email's domain typed as the website
        ]
    )
    assert found == [{}, {}, {}]


def test_a_replaced_table_is_used_from_the_next_batch() -> None:
    provider = FirmographicProvider(FirmographicTable.from_rows([]))
    assert provider.enrich_batch([lead(domain="newco.cn")]) == [{}]
    provider.table = FirmographicTable.from_rows([{"name": "新科", "domain": "newco.cn", "employees": 12}])
    assert provider.enrich_batch([lead(domain="newco.cn")]) == [{"company.employees": 12}]


def test_unknown_company_gets_nothing(table: FirmographicTable) -> None:
    assert FirmographicProvider(table).enrich_batch([lead(company="无名小店", email="boss@nowhere.cn"), {}]) == [{}, {}]


def test_domain_key() -> None:
    assert domain_key("HTTPS://www.Example.cn:443/path?q=1") == "example.cn"
    assert domain_key("localhost") is None
    assert domain_key(None) is None


# --- phone region ----------------------------------------------------------------------------------


def test_phone_region_from_ingests_detail_and_the_geocoder() -> None:
    leads = [
        lead(phone="+86 138 0013 8000"),  # ingest's province and city
        lead(phone="+86 755 1234 5678", normalised=False),  # no detail: the raw number is read again
        lead(phone="+1 415 555 2671"),  # "San Francisco, CA"
        lead(phone="+1 650 555 0100"),  # "California": a state
        lead(phone="+44 20 7946 0322"),  # "London"
        lead(phone="+44 7911 123456"),  # a mobile: only the country, which says nothing more
        lead(phone="12345"),  # invalid
        {"normalised": {"phone": {"valid": True, "e164": "+862161234567", "kind": "landline"}}},  # e164 alone
    ]
    assert PhoneRegionProvider().enrich_batch(leads) == [
        {"phone.region": "北京", "phone.city": "北京"},
        {"phone.region": "广东", "phone.city": "深圳"},
        {"phone.region": "CA", "phone.city": "San Francisco"},
        {"phone.region": "California"},
        {"phone.city": "London"},
        {},
        {},
        {"phone.region": "上海", "phone.city": "上海"},
    ]


# --- the enricher ----------------------------------------------------------------------------------


class Fake:
    """A provider answering the same fields for every lead, after an optional wait or with an error."""

    def __init__(self, name: str, fields: dict[str, Any], *, raises: Exception | None = None,
                 wait: threading.Event | None = None) -> None:  # fmt: skip
        self.name, self.fields, self.raises, self.wait, self.calls = name, fields, raises, wait, 0

    def enrich_batch(self, leads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        self.calls += 1
        if self.wait is not None:
            self.wait.wait(5)
        if self.raises is not None:
            raise self.raises
        return [dict(self.fields) for _ in leads]


async def test_every_field_carries_its_provenance(table: FirmographicTable) -> None:
    enricher = Enricher(default_providers(table), timeout_s=5, clock=FixedClock())
    one = lead(title="采购经理", phone="+86 138 0013 8000", email="li@huifan.com", company="佛山汇帆生物科技有限公司")
    [enrichment] = await enricher.enrich_batch([one])
    enricher.close()
    assert enrichment.values == {
        "company.industry": "pharma_biotech",
        "company.employees": 1300,
        "company.annual_revenue": 2.3e8,
        "company.hq_country": "CN",
        "company.hq_region": "广东",
        "phone.region": "北京",
        "phone.city": "北京",
        "person.seniority": "manager",
        "person.function": "procurement",
    }
    providers = {field: p["provider"] for field, p in enrichment.provenance.items()}
    assert providers == {**dict.fromkeys([f for f in enrichment.values if f.startswith("company.")], "firmographics"),
                         "phone.region": "phone_region", "phone.city": "phone_region",
                         "person.seniority": "title", "person.function": "title"}  # fmt: skip
    assert {p["at"] for p in enrichment.provenance.values()} == {AT}
    assert enrichment.failed == []
    assert enrichment.as_event()["fields"]["person.function"] == {"value": "procurement", "provider": "title", "at": AT}
    assert "failed" not in enrichment.as_event()
    assert Enrichment.from_event(enrichment.as_event()) == enrichment


def test_a_value_without_provenance_and_the_stored_form() -> None:
    carried = Enrichment({"phone.city": "杭州", "person.seniority": "vp"},
                         {"person.seniority": {"provider": "title", "at": AT}}, ["phone_region"])  # fmt: skip
    event = carried.as_event()
    assert event == {
        "fields": {"phone.city": {"value": "杭州"}, "person.seniority": {"value": "vp", "provider": "title", "at": AT}},
        "failed": ["phone_region"],
    }
    assert Enrichment.from_event(event) == carried
    assert Enrichment.from_event({}) == Enrichment({}, {}, [])


async def test_slow_and_failing_providers_leave_the_leads_enriched_and_flagged() -> None:
    release = threading.Event()
    slow = Fake("slow", {"company.industry": "software"}, wait=release)
    broken = Fake("broken", {"company.employees": 5}, raises=ValueError("choked on +8613800138000"))
    enricher = Enricher([slow, broken, TitleProvider()], timeout_s=0.05, clock=FixedClock())
    try:
        with capture_logs() as logs:
            first = await enricher.enrich_batch([lead(title="CEO"), lead(title="IT经理")])
            # The slow call still runs: it is not asked again, so hung calls cannot pile up.
            second = await enricher.enrich_batch([lead(title="CFO")])
    finally:
        release.set()
        enricher.close()
    assert [e.values for e in first] == [
        {"person.seniority": "c_level", "person.function": "management"},
        {"person.seniority": "manager", "person.function": "it"},
    ]
    assert [e.failed for e in [*first, *second]] == [["slow", "broken"]] * 3
    assert second[0].values == {"person.seniority": "c_level", "person.function": "finance"}
    assert first[0].as_event()["failed"] == ["slow", "broken"]
    assert (slow.calls, broken.calls) == (1, 2)
    warnings = [(e["provider"], e["error"]) for e in logs if e["event"] == "enrichment_provider_failed"]
    assert sorted(warnings) == [("broken", "ValueError"), ("broken", "ValueError"),
                                ("slow", "ProviderStillRunning"), ("slow", "TimeoutError")]  # fmt: skip
    assert "13800138000" not in repr(logs)


async def test_the_first_provider_wins_a_shared_field() -> None:
    first = Fake("first", {"company.industry": "software", "phone.city": None})
    second = Fake("second", {"company.industry": "finance", "phone.city": "杭州"})
    enricher = Enricher([first, second], timeout_s=1, clock=FixedClock())
    [enrichment] = await enricher.enrich_batch([lead()])
    enricher.close()
    assert enrichment.values == {"company.industry": "software", "phone.city": "杭州"}
    assert {f: p["provider"] for f, p in enrichment.provenance.items()} == {
        "company.industry": "first",
        "phone.city": "second",  # first's None sets nothing
    }


async def test_a_provider_answering_the_wrong_number_of_leads_is_a_failure() -> None:
    class Short:
        name = "short"

        def enrich_batch(self, leads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
            return [{"phone.city": "杭州"}]

    providers: list[Provider] = [Short(), TitleProvider()]
    enricher = Enricher(providers, timeout_s=1, clock=FixedClock())
    result = await enricher.enrich_batch([lead(title="CEO"), lead()])
    enricher.close()
    assert [(e.values, e.failed) for e in result] == [
        ({"person.seniority": "c_level", "person.function": "management"}, ["short"]),
        ({}, ["short"]),
    ]


async def test_an_empty_batch_and_duplicate_names() -> None:
    enricher = Enricher([TitleProvider()], timeout_s=1, clock=FixedClock())
    assert await enricher.enrich_batch([]) == []
    enricher.close()
    with pytest.raises(ValueError, match="distinct names"):
        Enricher([TitleProvider(), TitleProvider()], timeout_s=1, clock=FixedClock())

"""dedup's matching engine on hand-made leads: which evidence merges, which only flags, which keeps apart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.dedup.blocking import MAX_PER_KEY, blocking_keys
from services.dedup.compare import compare
from services.dedup.engine import Resolver, Thresholds
from services.dedup.handlers import DedupHandler
from services.dedup.profile import Profile, profile_of
from services.ingest.domain import Accepted, ingest
from shared.schemas.events import DedupVerdict

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def lead(days: float = 0, **fields: Any) -> Profile:
    """A profile from a submission, through ingest's real normalisation."""
    person = {k: fields.pop(k) for k in ("name", "phone", "email", "wechat", "title") if k in fields}
    company = {k: fields.pop(k) for k in ("company", "domain", "city", "province", "address") if k in fields}
    if "company" in company:
        company["name"] = company.pop("company")
    if "province" in company:
        company["region"] = company.pop("province")
    submission = {
        "source": fields.pop("source", "web-form"),
        "captured_at": (T0 + timedelta(days=days)).isoformat(),
        "person": person,
        "company": {"country": "CN", **company},
        **fields,
    }
    lead_id = uuid.uuid4()
    result = ingest(submission, lead_id, now=T0 + timedelta(days=400), require_contact=False)
    assert isinstance(result, Accepted), result
    return profile_of(lead_id, result.payload)


def resolve_all(*profiles: Profile, thresholds: Thresholds | None = None) -> tuple[Resolver, list[Any]]:
    resolver = Resolver(thresholds or Thresholds())
    return resolver, [resolver.resolve(p) for p in profiles]


# --- exact keys --------------------------------------------------------------------------------------


def test_the_same_mobile_merges_and_says_so() -> None:
    first = lead(name="王伟", phone="13800138000", company="上海云帆科技有限公司")
    again = lead(name="王伟", phone="+86 138-0013-8000", source="trade-show")
    _, (new, merged) = resolve_all(first, again)
    assert new.outcome == "new"
    assert merged.outcome == "merge"
    assert merged.survivor == first.lead_id
    assert merged.rule == "phone_exact"
    assert {s.rule for s in merged.signals} >= {"phone_exact", "name_exact"}


def test_the_same_mailbox_under_provider_folding_merges() -> None:
    first = lead(email="john.smith@gmail.com")
    again = lead(email="JohnSmith+webinar@gmail.com")
    _, (_, merged) = resolve_all(first, again)
    assert merged.outcome == "merge"
    assert merged.rule == "email_exact"


def test_the_same_company_asking_for_the_same_product_from_two_channels_is_one_lead() -> None:
    first = lead(company="杭州云帆科技有限公司", product_interest=["CRM"], email="info@yunfan.cn", source="web")
    again = lead(company="云帆科技股份有限公司", product_interest=["CRM", "ERP"], phone="0571-88886666", source="expo")
    _, (_, merged) = resolve_all(first, again)
    assert merged.outcome == "merge"
    assert "company_product" in {s.rule for s in merged.signals}


def test_a_company_alone_merges_when_its_domain_confirms_it() -> None:
    first = lead(company="云帆科技有限公司", domain="yunfan.cn", email="info@yunfan.cn")
    again = lead(company="上海云帆科技股份有限公司", domain="www.yunfan.cn", phone="021-62345678")
    unconfirmed = lead(company="云帆科技有限公司", phone="0755-88886666")
    _, (_, second, third) = resolve_all(first, again, unconfirmed)
    assert second.outcome == "merge"
    assert "company_alone" in {s.rule for s in second.signals}
    assert third.outcome != "merge"


def test_a_company_alone_does_not_join_two_named_people() -> None:
    a = lead(name="李娜", company="云帆科技有限公司", domain="yunfan.cn", email="li.na@qq.com")
    b = lead(name="赵强", company="云帆科技有限公司", domain="yunfan.cn", email="zq@163.com")
    assert "company_alone" not in {s.rule for s in compare(b, a).signals}
    _, (_, second) = resolve_all(a, b)
    assert second.outcome == "new"


# --- switchboards, namesakes, colleagues -------------------------------------------------------------


def test_a_shared_switchboard_alone_never_merges_different_people() -> None:
    a = lead(name="李娜", phone="021-62345678", email="li.na@yunfan.cn", company="云帆科技有限公司")
    b = lead(name="赵强", phone="021-62345678", email="zhao.qiang@yunfan.cn", company="云帆科技有限公司")
    c = lead(phone="021-62345678")  # nothing but the switchboard
    _, (_, second, third) = resolve_all(a, b, c)
    assert second.outcome == "new"
    assert third.outcome != "merge"
    shared = next(s for s in compare(c, a).signals if s.rule == "phone_shared")
    assert 0 < shared.weight < Thresholds().merge


def test_the_same_switchboard_and_name_at_the_same_company_do_merge() -> None:
    a = lead(name="李娜", phone="021-62345678", company="云帆科技有限公司")
    b = lead(name="李娜", phone="021 6234 5678", company="上海云帆科技有限公司")
    _, (_, second) = resolve_all(a, b)
    assert second.outcome == "merge"
    assert {"phone_shared", "name_exact", "company_exact"} <= {s.rule for s in second.signals}


def test_namesakes_at_different_companies_stay_apart() -> None:
    a = lead(name="王伟", phone="13800138000", company="云帆科技有限公司", city="上海")
    b = lead(name="王伟", phone="13911112222", company="恒达贸易有限公司", city="上海")
    _, (_, second) = resolve_all(a, b)
    assert second.outcome == "new"


def test_colleagues_with_different_work_mailboxes_stay_apart() -> None:
    a = lead(name="刘阳", email="yliu@boxin.com.cn", company="博信科技有限公司", phone="0755-38146250")
    b = lead(name="刘杨", email="liu.yang@boxin.com.cn", company="博信科技有限公司", phone="0755-38146250")
    _, (_, second) = resolve_all(a, b)
    assert second.outcome != "merge"  # at most flagged for a human: the homophone names are close
    assert "email_differs_same_company" in {s.rule for s in second.signals if s.weight < 0}


# --- fuzzy ----------------------------------------------------------------------------------------------


def test_a_homophone_typo_with_the_same_company_and_mailbox_name_merges() -> None:
    a = lead(name="张海燕", email="zhanghaiyan@hengcong.cn", company="恒聪科技有限公司")
    b = lead(name="张海艳", email="zhanghaiyan@qq.com", company="恒聪科技股份有限公司")
    _, (_, second) = resolve_all(a, b)
    assert second.outcome == "merge"
    assert {"name_homophone", "email_local"} <= {s.rule for s in second.signals}


def test_a_han_name_meets_its_pinyin_through_the_blocking_keys() -> None:
    han = lead(name="张阳", email="zy@qq.com", company="航拓信息有限公司")
    latin = lead(name="Yang ZHANG", email="yang.zhang@hangtuo.cn", company="航拓信息股份有限公司")
    assert {k for k in blocking_keys(han) if k.startswith("sound_company|")} & set(blocking_keys(latin))
    assert "name_pinyin" in {s.rule for s in compare(latin, han).signals}


def test_latin_names_with_typos_and_a_swap_plus_the_address_merge() -> None:
    a = lead(name="Kayla Harrington", address="12 Maltby Circuit", city="Coolaroo", postcode="3465")
    b = lead(name="Harringtn Kayla", address="12 maltby cct", city="coolaroo", postcode="3465")
    _, (_, second) = resolve_all(a, b)
    assert second.outcome == "merge"


def test_middling_evidence_is_a_possible_duplicate_for_a_human() -> None:
    a = lead(name="陈静", company="远景咨询有限公司", email="chenjing@qq.com")
    b = lead(name="陈静", company="远景管理咨询有限公司", email="cj1988@163.com")
    _, (_, second) = resolve_all(a, b)
    assert second.outcome == "possible_duplicate"
    assert second.survivor == a.lead_id
    assert Thresholds().review <= second.score < Thresholds().merge


def test_weak_evidence_leaves_a_new_lead_with_its_best_candidate_listed() -> None:
    a = lead(name="陈静", phone="13800138000", company="远景咨询有限公司", city="杭州")
    b = lead(name="陈静", phone="13911112222", company="恒达贸易有限公司", city="杭州")
    _, (_, second) = resolve_all(a, b)
    assert second.outcome == "new"
    assert second.rule == "below_threshold"
    assert [c.survivor for c in second.candidates] == [a.lead_id]


# --- the window -----------------------------------------------------------------------------------------


def test_a_repeat_within_the_window_merges_and_an_older_one_links_to_its_history() -> None:
    first = lead(days=0, phone="13800138000", name="王伟")
    soon = lead(days=100, phone="13800138000", name="王伟")
    late = lead(days=100 + 181, phone="13800138000", name="王伟")
    resolver, (_, second, third) = resolve_all(first, soon, late)
    assert second.outcome == "merge"
    assert third.outcome == "new"
    assert third.history_of == first.lead_id
    assert resolver.survivor_of[late.lead_id] == late.lead_id


def test_the_window_counts_from_the_last_sighting_of_the_person() -> None:
    sightings = [lead(days=d, phone="13800138000") for d in (0, 150, 300)]
    _, decisions = resolve_all(*sightings)
    assert [d.outcome for d in decisions] == ["new", "merge", "merge"]


def test_a_shorter_window_is_configurable() -> None:
    first, again = lead(days=0, email="a.b@yunfan.cn"), lead(days=31, email="a.b@yunfan.cn")
    _, (_, second) = resolve_all(first, again, thresholds=Thresholds(window=timedelta(days=30)))
    assert second.outcome == "new"
    assert second.history_of == first.lead_id


# --- the index ---------------------------------------------------------------------------------------------


def test_a_third_sighting_matches_the_cluster_through_any_member() -> None:
    first = lead(name="李明", email="liming@qq.com")
    second = lead(name="李明", email="liming@qq.com", phone="13700001111")
    third = lead(name="李铭", phone="137 0000 1111")  # shares nothing with the first but the person
    resolver, decisions = resolve_all(first, second, third)
    assert [d.outcome for d in decisions] == ["new", "merge", "merge"]
    assert resolver.survivor_of[third.lead_id] == first.lead_id


def test_a_lead_is_compared_with_a_handful_of_candidates_not_the_index() -> None:
    resolver = Resolver()
    for i in range(2_000):
        resolver.resolve(lead(email=f"user{i}@example{i}.cn", phone=f"139{i:08d}"))
    before = resolver.comparisons
    resolver.resolve(lead(email="user7@example7.cn"))
    assert resolver.comparisons - before <= 5


def test_a_hot_key_is_read_only_up_to_its_cap() -> None:
    resolver = Resolver()
    for i in range(300):  # one switchboard, 300 people
        resolver.resolve(lead(phone="021-62345678", email=f"p{i}@yunfan{i}.cn"))
    before = resolver.comparisons
    resolver.resolve(lead(phone="021-62345678"))
    assert resolver.comparisons - before == MAX_PER_KEY


def test_profiles_survive_their_stored_form() -> None:
    p = lead(
        name="Kayla Harrington", phone="13800138000", email="k@yunfan.cn", company="云帆", product_interest=["CRM"]
    )
    assert Profile.from_json(p.lead_id, p.seen_at, p.to_json()) == p


def test_the_verdict_dict_is_a_valid_dedup_verdict() -> None:
    a = lead(name="陈静", company="远景咨询有限公司", email="chenjing@qq.com")
    b = lead(name="陈静", company="远景管理咨询有限公司", email="cj1988@163.com")
    old = lead(days=-300, phone="13800138000")
    late = lead(phone="13800138000")
    _, (_, possible, _, history) = resolve_all(a, b, old, late)
    handler = DedupHandler(Thresholds())
    for decision in (possible, history):
        raw = handler._verdict(decision)
        parsed = DedupVerdict.model_validate(raw)
        assert parsed.model_dump(mode="json", exclude_none=True) == raw
    assert DedupVerdict.model_validate(handler._verdict(possible)).possible_duplicate_of == a.lead_id
    assert DedupVerdict.model_validate(handler._verdict(history)).history_of == old.lead_id

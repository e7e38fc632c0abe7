"""Microseconds per call of each normaliser and of a whole lead: `python -m tests.unit.normalise.perf_normalise`."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from shared.normalise import _text as text_module
from shared.normalise import (
    classify_industry,
    companies,
    emails,
    firmographics,
    locations,
    names,
    normalise_company,
    normalise_email,
    normalise_person_name,
    normalise_phone,
    parse_employees,
    phones,
    region_tables,
    resolve_location,
    size_band,
)

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
SURNAMES += ["欧阳", "司马", "诸葛", "上官"]
GIVEN_CHARS = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅海燕小东文斌宇浩然子轩雨欣晨")
FIRST = ["John", "Mary", "James", "Anna", "Peter", "Laura", "David", "Sophie", "Michael", "Emma", "Jean-Luc", "José"]
LAST = ["Smith", "Johnson", "Müller", "García", "O'Brien", "McDonald", "van der Berg", "Rossi", "Dubois", "Tanaka"]
CITIES = ["杭州", "深圳市", "Shanghai", "北京", "广州", "成都", "南京", "苏州", "武汉", "西安", "Hangzhou", "厦门", ""]
PROVINCES = ["浙江", "广东省", "Jiangsu", "上海市", "四川", "湖北", "", "", "山东省", "福建"]
COUNTRIES = ["US", "United Kingdom", "Deutschland", "日本", "Singapore", "France", "Brazil", "Australia", "India"]
CN_CO = ["腾讯计算机系统", "云帆信息技术", "华为技术", "阿里巴巴(中国)网络技术", "星辰软件", "蓝海贸易", "百川医疗器械"]
CN_SUFFIX = ["有限公司", "股份有限公司", "集团有限公司", "有限责任公司", "科技有限公司"]
EN_CO = ["Acme", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises", "Siemens (China)"]
EN_SUFFIX = ["Inc.", "Ltd", "Co., Ltd.", "GmbH", "LLC", "Corp.", "S.A.", "Pty Ltd", "AG", ""]
INDUSTRIES = ["SaaS", "软件", "互联网", "银行", "Financial Services", "制造业", "汽车零部件", "电商", "医疗器械",
              "教育培训", "Computer Software", "Retail", "物流", "房地产", "consulting", "Hospital & Health Care",
              "其他", "n/a"]  # fmt: skip
EMPLOYEES: list[str | int | float] = [
    "1,200",
    "50-99",
    "500+",
    "100人以上",
    "1万人",
    "约300人",
    "10",
    250,
    3000.0,
    "",
    "unknown",
    "少于50人",
]


@dataclass(frozen=True, slots=True)
class Lead:
    phone: str
    region: str | None
    email: str
    company: str
    name: str
    country: str
    province: str
    city: str
    employees: str | int | float
    industry: str


def _chinese_lead(rng: random.Random, i: int) -> Lead:
    mobile = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    phone = rng.choice([mobile, f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}", f"0086{mobile}", f"手机:{mobile}",
                        f"(0{rng.choice(['10', '21', '571', '755'])}) {rng.randrange(10**7, 10**8)}"])  # fmt: skip
    name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN_CHARS, k=rng.choice([1, 2])))
    company = rng.choice(["", "深圳市", "上海", "杭州"]) + rng.choice(CN_CO) + rng.choice(CN_SUFFIX)
    domain = rng.choice(["qq.com", "163.com", "yunfan.cn", f"corp{i % 500}.com.cn"])
    return Lead(phone, "CN", f"user{i}@{domain}", company, name + rng.choice(["", "", "先生", "总"]), "CN",
                rng.choice(PROVINCES), rng.choice(CITIES), rng.choice(EMPLOYEES), rng.choice(INDUSTRIES))  # fmt: skip


def _international_lead(rng: random.Random, i: int) -> Lead:
    phone = rng.choice([f"+1 (415) 555-{rng.randrange(10**4):04d}", f"+44 20 7946 {rng.randrange(10**4):04d}",
                        f"+49 30 {rng.randrange(10**7, 10**8)}", f"+65 {rng.choice('689')}{rng.randrange(10**7):07d}",
                        "12345"])  # fmt: skip
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = rng.choice([f"{first} {last}", f"{last.upper()}, {first}", f"Dr. {first} {last}"])
    company = f"{rng.choice(EN_CO)} {rng.choice(EN_SUFFIX)}".strip()
    email = rng.choice([f"{first}.{last}+{i}@gmail.com", f"{first[0]}{i}@company{i % 300}.example.com"])
    return Lead(phone, None, email, company, name, rng.choice(COUNTRIES), rng.choice(["CA", "Bavaria", ""]),
                rng.choice(["San Francisco", "Munich", ""]), rng.choice(EMPLOYEES), rng.choice(INDUSTRIES))  # fmt: skip


def make_leads(count: int, seed: int = 7) -> list[Lead]:
    rng = random.Random(seed)
    return [(_chinese_lead if rng.random() < 0.6 else _international_lead)(rng, i) for i in range(count)]


def _clear_input_caches() -> None:
    """Empty the per-input caches (not the once-per-process table loads), for a cold measurement."""
    modules: Sequence[ModuleType] = (companies, emails, firmographics, locations, names, phones, region_tables)
    for module in (*modules, text_module):
        for value in vars(module).values():
            parameters = getattr(value, "cache_parameters", None)
            if parameters is not None and (parameters()["maxsize"] or 0) > 1:
                value.cache_clear()


def normalise_lead(lead: Lead) -> tuple[Any, ...]:
    phone = normalise_phone(lead.phone, lead.region)
    return (
        phone,
        normalise_email(lead.email),
        normalise_company(lead.company),
        normalise_person_name(lead.name),
        resolve_location(lead.country, lead.province, lead.city, phone),
        size_band(parse_employees(lead.employees)),
        classify_industry(lead.industry),
    )


def _time(call: Callable[[Lead], object], leads: Sequence[Lead], *, cold: bool = True, repeat: int = 3) -> float:
    """Best of `repeat` runs in CPU time, so that other processes on the machine do not count."""
    best = float("inf")
    for _ in range(repeat):
        if cold:
            _clear_input_caches()
        start = time.process_time()
        for lead in leads:
            call(lead)
        best = min(best, time.process_time() - start)
    return best / len(leads) * 1e6


def main(count: int = 10_000) -> None:
    leads = make_leads(count)
    normalise_lead(leads[0])  # loads the YAML tables, OpenCC and pypinyin: once per process
    phone_infos = [normalise_phone(lead.phone, lead.region) for lead in leads]
    by_lead = dict(zip(map(id, leads), phone_infos, strict=True))
    measured = {
        "phone": _time(lambda lead: normalise_phone(lead.phone, lead.region), leads),
        "email": _time(lambda lead: normalise_email(lead.email), leads),
        "company": _time(lambda lead: normalise_company(lead.company), leads),
        "person name": _time(lambda lead: normalise_person_name(lead.name), leads),
        "location": _time(
            lambda lead: resolve_location(lead.country, lead.province, lead.city, by_lead[id(lead)]), leads
        ),
        "employees+band": _time(lambda lead: size_band(parse_employees(lead.employees)), leads),
        "industry": _time(lambda lead: classify_industry(lead.industry), leads),
        "whole lead (cold caches)": _time(normalise_lead, leads),
        "whole lead (warm caches)": _time(normalise_lead, leads, cold=False),
    }
    for label, micros in measured.items():
        sys.stdout.write(f"{label:<26}{micros:8.1f} µs/call\n")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)

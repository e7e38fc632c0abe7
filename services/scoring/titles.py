"""Job titles in Chinese or English → seniority (c_level … staff) and function (sales, it, finance …)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from shared.normalise._text import HAN, as_text, clean, simplified

SENIORITIES = ("c_level", "vp", "director", "manager", "staff")  # most senior first
FUNCTIONS = ("sales", "marketing", "it", "finance", "hr", "operations", "engineering", "procurement", "management",
             "other")  # fmt: skip

# (seniority, function, terms). A title's terms are found left to right, the longest term at each place:
# "Business Development" is sales before "development" is engineering, "副总经理" a VP before "总经理".
# English terms match whole words only ("coordinator" holds no COO); Chinese ones anywhere.
# fmt: off
_TERMS: tuple[tuple[str | None, str | None, str], ...] = (
    # --- the top: chiefs, owners, boards ---
    ("c_level", "management", (
        "ceo|chief executive|president|founder|co-founder|cofounder|owner|co-owner|proprietor|chairman|"
        "chairwoman|chairperson|executive chairman|general manager|gm|managing director|managing partner|"
        "founding partner|general partner|partner|board member|board director|non-executive director|cxo|"
        "董事长|总经理|总裁|行政总裁|首席执行官|创始人|联合创始人|创办人|老板|"
        "董事|执行董事|独立董事|合伙人|法人|法定代表人|主席|社长"
    )),
    ("c_level", None, "chief|cso|cpo|cco|cdo|首席"),
    ("c_level", "engineering", "cto|总工|总工程师"),
    ("c_level", "it", "cio|ciso"),
    ("c_level", "finance", "cfo|总会计师"),
    ("c_level", "operations", "coo"),
    ("c_level", "marketing", "cmo"),
    ("c_level", "sales", "cro"),
    ("c_level", "hr", "chro"),
    # --- vice presidents and deputies of the top ---
    ("vp", "management", (
        "vp|svp|evp|avp|vice president|deputy ceo|deputy general manager|deputy managing director|"
        "assistant general manager|vice chairman|"
        "副总裁|副总经理|副总|副董事长|助理总经理|助理总裁|董事会秘书|董秘"
    )),
    # --- directors and heads ---
    ("director", None, (
        "director|dir|head|department head|country manager|"
        "总监|副总监|部长|处长|负责人|院长|所长|局长|行长|主任"
    )),
    ("director", "operations", "厂长"),
    ("director", "finance", "financial controller"),
    # --- managers and team leads ---
    ("manager", None, (
        "manager|mgr|supervisor|lead|team lead|team leader|foreman|superintendent|product owner|process owner|"
        "经理|副经理|主管|组长|科长|课长|店长|班长|队长|领班|督导"
    )),
    ("manager", "sales", "account manager|key account manager|partner manager|客户经理"),
    ("manager", "operations", "office manager|plant manager"),
    ("manager", "engineering", "tech lead|technical lead"),
    # --- individual contributors ---
    ("staff", None, (
        "specialist|associate|representative|rep|executive|coordinator|administrator|admin|officer|clerk|"
        "assistant|intern|trainee|agent|analyst|planner|designer|operator|secretary|receptionist|"
        "business partner|"
        "专员|助理|文员|职员|员工|代表|分析师|设计师|实习生|实习|秘书|总助|操作员"
    )),
    ("staff", "sales", (
        "account executive|account owner|sales executive|sales representative|sales rep|sdr|bdr|"
        "销售员|业务员|销售代表|跟单"
    )),
    ("staff", "finance", "accountant|bookkeeper|cashier|会计|出纳|会计师"),
    ("staff", "procurement", "buyer|purchaser|采购员|买手"),
    ("staff", "hr", "recruiter|hrbp"),
    ("staff", "engineering", (
        "engineer|developer|programmer|architect|scientist|researcher|technician|tester|"
        "工程师|程序员|架构师|技术员|研究员|测试员"
    )),
    ("staff", "it", "sysadmin|dba|support engineer|technical support|网管"),
    ("staff", "operations", "客服"),
    ("staff", "other", (
        "consultant|advisor|adviser|lawyer|attorney|paralegal|teacher|lecturer|translator|"
        "顾问|律师|教师|老师|讲师|翻译"
    )),
    # --- functions alone ---
    (None, "sales", (
        "sales|selling|business development|biz dev|bd|key account|key accounts|channel|channel partner|"
        "partner sales|partner account|partnerships|partnership|pre-sales|presales|revenue|commercial|"
        "customer success|"
        "销售|业务|商务|大客户|渠道|售前|营业|招商|外贸"
    )),
    (None, "marketing", (
        "marketing|marketer|mktg|brand|branding|growth|communications|comms|pr|public relations|"
        "demand generation|demand gen|lead generation|lead gen|digital marketing|seo|sem|advertising|"
        "partner marketing|market research|"
        "市场|营销|品牌|推广|公关|媒介|新媒体|广告|网络营销|网络推广|策划"
    )),
    (None, "it", (
        "it|information technology|information|information security|information systems|infrastructure|"
        "network|networks|systems|security|cloud|database|erp|helpdesk|help desk|"
        "信息|信息化|信息技术|网络|运维|系统管理|数据中心|信息安全|资讯|电脑"
    )),
    (None, "finance", (
        "finance|financial|accounting|accounts|controller|comptroller|treasurer|treasury|audit|auditor|tax|"
        "fp&a|investor relations|billing|"
        "财务|财会|审计|税务|资金|投资|融资|结算|成本|风控"
    )),
    (None, "hr", (
        "hr|human resources|human resource|human capital|people|talent|recruiting|recruitment|payroll|"
        "compensation|learning and development|training|"
        "人力资源|人力|人事|招聘|培训|薪酬|绩效|行政人事"
    )),
    (None, "operations", (
        "operations|operating|ops|logistics|supply chain|warehouse|production|manufacturing|plant|facilities|"
        "facility|quality|administration|customer service|customer support|support|fulfillment|fulfilment|"
        "运营|营运|生产|物流|供应链|仓储|仓库|行政|质量|品质|质检|售后|后勤|车间|制造|工厂"
    )),
    (None, "engineering", (
        "engineering|development|software|r&d|research|technology|technical|tech|devops|qa|quality assurance|"
        "hardware|firmware|frontend|front end|backend|back end|full stack|fullstack|machine learning|"
        "技术|研发|开发|软件|硬件|架构|程序|测试|工程|研究|设计|算法"
    )),
    (None, "procurement", (
        "procurement|purchasing|purchase|sourcing|vendor management|supplier management|"
        "采购|采买|招标|招采|寻源|供应商|集采"
    )),
    (None, "other", "legal|counsel|general counsel|compliance|法务"),
)
# fmt: on
_RANK = {name: rank for rank, name in enumerate(SENIORITIES)}
_FOLD = re.compile(r"[\s\-_/,&.()·:;|+'\"]+")
_SPACE_BY_HAN = re.compile(rf"(?<=[{HAN}])\s+|\s+(?=[{HAN}])")
# The assistant of an executive is no executive: "Executive Assistant to the CEO", "总经理助理".
_ASSISTANT = re.compile(r"(?<![a-z0-9])(?:assistant|secretary) (?:to|of)(?![a-z0-9])|executive assistant|"
                        r"personal assistant|(?<!董事会)(?:助理|秘书)$")  # fmt: skip


@dataclass(frozen=True, slots=True)
class TitleInfo:
    seniority: str | None  # one of SENIORITIES; None when the title does not say
    function: str | None  # one of FUNCTIONS; None when the title does not say


def _fold(text: str) -> str:
    """Lower case, simplified Chinese, punctuation as single spaces, no spaces next to Chinese characters."""
    folded = _FOLD.sub(" ", simplified(clean(text)).lower()).strip()
    return _SPACE_BY_HAN.sub("", folded)


def _index() -> tuple[re.Pattern[str], dict[str, tuple[str | None, str | None]]]:
    meanings: dict[str, tuple[str | None, str | None]] = {}
    for seniority, function, terms in _TERMS:
        for term in terms.split("|"):
            folded = _fold(term)
            if folded in meanings:
                raise ValueError(f"title term {term!r} is listed twice")
            meanings[folded] = (seniority, function)
    by_length = sorted(meanings, key=len, reverse=True)
    latin = "|".join(re.escape(t) for t in by_length if t.isascii())
    chinese = "|".join(re.escape(t) for t in by_length if not t.isascii())
    return re.compile(rf"(?<![a-z0-9])(?:{latin})(?![a-z0-9])|{chinese}"), meanings


_PATTERN, _MEANINGS = _index()
_UNKNOWN = TitleInfo(None, None)


@lru_cache(maxsize=16384)
def _parse(raw: str) -> TitleInfo:
    folded = _fold(raw)
    if not folded:
        return _UNKNOWN
    hits = [_MEANINGS[found.group(0)] for found in _PATTERN.finditer(folded)]
    ranks = [_RANK[seniority] for seniority, _ in hits if seniority is not None]
    seniority = SENIORITIES[min(ranks)] if ranks else None
    if seniority is not None and _ASSISTANT.search(folded):
        seniority = "staff"
    # The first specific function named wins ("Sales Operations Analyst" is sales); "management" is what
    # a bare executive title says, so any specific one beats it ("VP Sales", "技术副总裁").
    functions = [function for _, function in hits if function is not None]
    function = next((f for f in functions if f != "management"), functions[0] if functions else None)
    return TitleInfo(seniority, function)


def parse_title(raw: str | None) -> TitleInfo:
    """The seniority and function a job title states ("VP Sales", "销售总监", "Sr. Account Executive")."""
    return _parse(as_text(raw))

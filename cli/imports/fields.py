"""The submission fields `leadflow import` can fill, and the column headers it recognises for each."""

from __future__ import annotations

import re

# Every field path of a `leads.captured.v1` submission a column can fill (`source` comes from --source).
FIELD_PATHS: frozenset[str] = frozenset(
    {"external_id", "captured_at", "campaign", "message", "product_interest"}
    | {f"utm.{name}" for name in ("source", "medium", "campaign", "term", "content")}
    | {f"person.{name}" for name in ("name", "given_name", "family_name", "title", "phone", "email", "wechat")}
    | {
        f"company.{name}"
        for name in (
            "name",
            "domain",
            "industry",
            "employees",
            "annual_revenue",
            "country",
            "region",
            "city",
            "address",
            "postcode",
        )
    }
    | {"consent.marketing", "consent.basis", "consent.captured_at"}
)
ATTRIBUTES_PREFIX = "attributes."
# Columns this tool writes into rejected-row files: never data, so a fixed file re-imports cleanly.
ROW_COLUMN = "_row"
ERRORS_COLUMN = "_errors"
RAW_COLUMN = "_raw"  # the text of a line that could not be read as a row
TOOL_COLUMNS = frozenset({ROW_COLUMN, ERRORS_COLUMN, RAW_COLUMN})

# Recognised headers per field, space-separated; compared by `header_key`, so `First Name` is `first_name`.
_ALIASES: dict[str, str] = {
    "external_id": "external_id id 编号 客户编号",
    "captured_at": "captured_at created_at submitted_at 提交时间 时间 日期 创建时间",
    "campaign": "campaign 活动 来源活动 展会",
    "message": "message notes note comments comment 备注 留言 需求",
    "product_interest": "product_interest products 意向产品 产品 感兴趣产品",
    "person.name": "name full_name contact_name 姓名 联系人",
    "person.given_name": "given_name first_name 名",
    "person.family_name": "family_name last_name surname 姓",
    "person.title": "title job_title position 职位 职务 头衔",
    "person.phone": "phone mobile mobile_phone phone_number tel telephone "
    "手机 手机号 手机号码 电话 联系电话 座机 联系方式",
    "person.email": "email email_address 邮箱 电子邮箱 邮件 电子邮件",
    "person.wechat": "wechat wechat_id weixin 微信 微信号",
    "company.name": "company company_name organization organisation 公司 公司名称 单位 企业 企业名称 单位名称",
    "company.domain": "domain website company_domain 网址 官网 网站 域名",
    "company.industry": "industry 行业 所属行业",
    "company.employees": "employees employee_count headcount company_size 人数 员工数 员工人数 规模 公司规模",
    "company.annual_revenue": "annual_revenue revenue",
    "company.country": "country 国家 国家地区",
    "company.region": "province state region 省份 省 地区",
    "company.city": "city 城市 市",
    "company.address": "address street street_address address_line 地址 详细地址 公司地址",
    "company.postcode": "postcode zip zip_code postal_code 邮编 邮政编码",
    "consent.marketing": "consent marketing_consent 营销同意 同意营销",
    "consent.basis": "consent_basis",
    "utm.source": "utm_source",
    "utm.medium": "utm_medium",
    "utm.campaign": "utm_campaign",
    "utm.term": "utm_term",
    "utm.content": "utm_content",
}
_IGNORED_IN_KEYS = re.compile(r"[\s_\-]+")
_DECORATION = re.compile(r"[*:\uff1a]+$")  # "手机号*" or "Email:" in hand-made templates


def header_key(header: str) -> str:
    """How headers compare: case-insensitive, trimmed, spaces, underscores, hyphens and a trailing `*`/`:` ignored."""
    return _IGNORED_IN_KEYS.sub("", _DECORATION.sub("", header.strip()).lower())


# Header key -> field path: the aliases above, plus every field path itself (`person.email`).
DEFAULT_HEADERS: dict[str, str] = {header_key(path): path for path in FIELD_PATHS} | {
    header_key(alias): path for path, aliases in _ALIASES.items() for alias in aliases.split()
}


def field_for(target: str) -> str | None:
    """A mapping target as a field path: `person.email`, an alias such as `email`, or None if unknown."""
    if target in FIELD_PATHS or target.startswith(ATTRIBUTES_PREFIX):
        return target
    return DEFAULT_HEADERS.get(header_key(target))

"""Country and province → sales region (a first cut; issue 3 brings full location normalisation)."""

from __future__ import annotations

_CN_REGIONS: dict[str, tuple[str, ...]] = {
    "cn-east": (
        "上海",
        "江苏",
        "浙江",
        "安徽",
        "福建",
        "江西",
        "山东",
        "shanghai",
        "jiangsu",
        "zhejiang",
        "anhui",
        "fujian",
        "jiangxi",
        "shandong",
    ),
    "cn-north": ("北京", "天津", "河北", "山西", "内蒙古", "beijing", "tianjin", "hebei", "shanxi", "inner mongolia"),
    "cn-south": ("广东", "广西", "海南", "香港", "澳门", "guangdong", "guangxi", "hainan"),
    "cn-central": ("河南", "湖北", "湖南", "henan", "hubei", "hunan"),
    "cn-southwest": ("重庆", "四川", "贵州", "云南", "西藏", "chongqing", "sichuan", "guizhou", "yunnan", "tibet"),
    "cn-northwest": ("陕西", "甘肃", "青海", "宁夏", "新疆", "shaanxi", "gansu", "qinghai", "ningxia", "xinjiang"),
    "cn-northeast": ("辽宁", "吉林", "黑龙江", "liaoning", "jilin", "heilongjiang"),
}
PROVINCE_REGION = {name: region for region, names in _CN_REGIONS.items() for name in names}

COUNTRY_ALIASES = {
    "china": "CN",
    "中国": "CN",
    "prc": "CN",
    "cn": "CN",
    "united states": "US",
    "usa": "US",
    "us": "US",
    "美国": "US",
    "united kingdom": "GB",
    "uk": "GB",
    "gb": "GB",
    "英国": "GB",
    "germany": "DE",
    "deutschland": "DE",
    "de": "DE",
    "德国": "DE",
    "france": "FR",
    "fr": "FR",
    "singapore": "SG",
    "sg": "SG",
    "新加坡": "SG",
    "japan": "JP",
    "jp": "JP",
    "日本": "JP",
    "canada": "CA",
    "ca": "CA",
    "australia": "AU",
    "au": "AU",
    "india": "IN",
    "in": "IN",
}
_COUNTRY_REGION = {
    "US": "north-america",
    "CA": "north-america",
    "GB": "europe",
    "DE": "europe",
    "FR": "europe",
    "NL": "europe",
    "ES": "europe",
    "IT": "europe",
    "SG": "apac",
    "JP": "apac",
    "AU": "apac",
    "IN": "apac",
    "KR": "apac",
}
_SUFFIXES = ("省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区")


def country_code(country: str | None) -> str | None:
    """'China' / '中国' / 'cn' → 'CN'; unknown names pass through upper-cased."""
    if not country or not country.strip():
        return None
    key = country.strip().lower()
    return COUNTRY_ALIASES.get(key, country.strip().upper() if len(key) == 2 else country.strip())


def clean_province(province: str | None) -> str | None:
    """'浙江省' → '浙江'; Latin names title-cased."""
    if not province or not province.strip():
        return None
    name = province.strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name if not name.isascii() else name.title()


def sales_region(country: str | None, province: str | None) -> str | None:
    """The sales region routing rules match on."""
    if province and (region := PROVINCE_REGION.get(province.lower())):
        return region
    if country == "CN":
        return "cn-other"
    return _COUNTRY_REGION.get(country or "", "other" if country else None)

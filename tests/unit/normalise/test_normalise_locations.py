"""resolve_location and the region table: provinces, cities, countries and the sales region of a lead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.normalise.locations import LocationInfo, country_code, load_tables, resolve_location
from shared.normalise.phones import PhoneInfo, normalise_phone

pytestmark = pytest.mark.unit

TABLE = Path(__file__).parents[3] / "shared" / "normalise" / "data" / "regions.yaml"
REGIONS = {
    "cn-east": {"上海", "江苏", "浙江", "安徽", "福建", "江西", "山东", "台湾"},
    "cn-north": {"北京", "天津", "河北", "山西", "内蒙古"},
    "cn-south": {"广东", "广西", "海南", "香港", "澳门"},
    "cn-central": {"河南", "湖北", "湖南"},
    "cn-southwest": {"重庆", "四川", "贵州", "云南", "西藏"},
    "cn-northwest": {"陕西", "甘肃", "青海", "宁夏", "新疆"},
    "cn-northeast": {"辽宁", "吉林", "黑龙江"},
}
PROVINCE_REGION = {province: region for region, provinces in REGIONS.items() for province in provinces}

places = st.one_of(
    st.none(), st.text(), st.sampled_from(["浙江", "杭州", "CN", "US", "China", "香港", "Bavaria", "市"])
)


def phone(raw: str) -> PhoneInfo:
    info = normalise_phone(raw)
    assert info is not None
    return info


def test_all_34_provinces_are_in_the_sales_region_asked_for() -> None:
    tables = load_tables()
    assert dict(tables.province_regions) == PROVINCE_REGION
    assert tables.codes == {*REGIONS, "north-america", "latam", "europe", "apac", "mea", "cn-other", "other"}


@pytest.mark.parametrize(
    ("province", "canonical"),
    [
        ("浙江", "浙江"),
        ("浙江省", "浙江"),
        ("ZHEJIANG", "浙江"),
        ("Zhejiang Province", "浙江"),
        ("廣東", "广东"),
        ("广西壮族自治区", "广西"),
        ("Guangxi Zhuang Autonomous Region", "广西"),
        ("Inner Mongolia", "内蒙古"),
        ("新疆维吾尔自治区", "新疆"),
        ("Shaanxi", "陕西"),
        ("Shanxi", "山西"),
        ("香港特别行政区", "香港"),
        ("Macao", "澳门"),
        ("Macau", "澳门"),
        ("北京市", "北京"),
    ],
)
def test_province_names_in_any_form(province: str, canonical: str) -> None:
    location = resolve_location("CN", province, None)
    assert (location.province, location.sales_region) == (canonical, PROVINCE_REGION[canonical])


def test_a_chinese_lead_with_province_and_city_as_given() -> None:
    assert resolve_location("CN", "浙江省", "杭州市") == LocationInfo("CN", "浙江", "杭州", "cn-east", "华东", ())


@pytest.mark.parametrize(
    ("city", "canonical", "province"),
    [
        ("深圳", "深圳", "广东"),
        ("深圳市", "深圳", "广东"),
        ("Shenzhen", "深圳", "广东"),
        ("Hangzhou City", "杭州", "浙江"),
        ("廣州", "广州", "广东"),
        ("Xi'an", "西安", "陕西"),
        ("襄樊", "襄阳", "湖北"),
        ("Urumqi", "乌鲁木齐", "新疆"),
        ("上海", "上海", "上海"),
    ],
)
def test_a_city_alone_gives_the_province_and_country(city: str, canonical: str, province: str) -> None:
    location = resolve_location(None, None, city)
    assert (location.country, location.province, location.city) == ("CN", province, canonical)
    assert location.inferred == ("country", "province")
    assert location.sales_region == PROVINCE_REGION[province]


def test_there_are_at_least_120_chinese_cities() -> None:
    assert len({city for city, _ in load_tables().city_aliases.values()}) >= 120


def test_a_province_alone_gives_the_country() -> None:
    location = resolve_location(None, "Zhejiang", None)
    assert (location.country, location.province, location.inferred) == ("CN", "浙江", ("country",))


def test_a_chinese_mobile_fills_country_province_and_city() -> None:
    location = resolve_location(None, None, None, phone("+86 138 1234 5678"))
    assert location == LocationInfo("CN", "江苏", "连云港", "cn-east", "华东", ("country", "province", "city"))


def test_the_phone_never_overrides_what_the_lead_gave() -> None:
    location = resolve_location("CN", "上海", None, phone("+86 138 1234 5678"))  # a Jiangsu number
    assert (location.province, location.city, location.sales_region, location.inferred) == ("上海", None, "cn-east", ())
    american = resolve_location("US", "CA", None, phone("+86 138 1234 5678"))
    assert (american.country, american.province, american.inferred) == ("US", "CA", ())


def test_an_invalid_phone_is_no_evidence() -> None:
    invalid = normalise_phone("12345", "CN")
    assert invalid is not None
    assert resolve_location(None, None, None, invalid) == LocationInfo(None, None, None, None, None, ())


def test_hong_kong_macao_and_taiwan_keep_their_code_and_sell_through_china() -> None:
    assert resolve_location("Hong Kong", None, None) == LocationInfo(
        "HK", "香港", None, "cn-south", "华南", ("province",)
    )
    assert resolve_location("MO", None, None).sales_region == "cn-south"
    district = resolve_location("HK", "Wan Chai", None)
    assert (district.province, district.sales_region, district.inferred) == ("Wan Chai", "cn-south", ())
    taipei = resolve_location(None, None, "台北")
    assert (taipei.country, taipei.province, taipei.sales_region) == ("TW", "台湾", "cn-east")
    by_phone = resolve_location(None, None, None, phone("+852 9123 4567"))
    assert (by_phone.country, by_phone.province, by_phone.sales_region) == ("HK", "香港", "cn-south")


def test_a_chinese_lead_without_a_known_province_is_cn_other() -> None:
    assert resolve_location("CN", None, None) == LocationInfo("CN", None, None, "cn-other", "中国其他地区", ())
    assert resolve_location("China", "火星", None).sales_region == "cn-other"


@pytest.mark.parametrize(
    ("country", "province", "city", "expected"),
    [
        ("US", "ca", "san francisco", LocationInfo("US", "CA", "San Francisco", "north-america", "North America", ())),
        ("Deutschland", "BAYERN", "münchen", LocationInfo("DE", "Bayern", "München", "europe", "Europe", ())),
        ("日本", None, "Tokyo", LocationInfo("JP", None, "Tokyo", "apac", "Asia-Pacific", ())),
        ("Brasil", None, None, LocationInfo("BR", None, None, "latam", "Latin America", ())),
        ("UAE", None, None, LocationInfo("AE", None, None, "mea", "Middle East & Africa", ())),
        ("Zimbabwe", None, None, LocationInfo(None, None, None, "other", "Other", ())),
        ("ZW", None, None, LocationInfo("ZW", None, None, "other", "Other", ())),  # a real code, no region for it
        (None, "Bavaria", None, LocationInfo(None, "Bavaria", None, "other", "Other", ())),
        (None, None, None, LocationInfo(None, None, None, None, None, ())),
    ],
)
def test_international_leads(
    country: str | None, province: str | None, city: str | None, expected: LocationInfo
) -> None:
    assert resolve_location(country, province, city) == expected


def test_the_phone_gives_an_international_lead_its_country() -> None:
    location = resolve_location(None, "California", None, phone("+1 415 555 2671"))
    assert (location.country, location.sales_region, location.inferred) == ("US", "north-america", ("country",))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("USA", "US"),
        ("United States of America", "US"),
        ("美国", "US"),
        ("UK", "GB"),
        ("英国", "GB"),
        ("Deutschland", "DE"),
        ("德国", "DE"),
        ("España", "ES"),
        ("日本", "JP"),
        ("한국", "KR"),
        ("韩国", "KR"),
        ("Korea, Republic of", "KR"),
        ("新加坡", "SG"),
        ("PRC", "CN"),
        ("中國", "CN"),
        ("Mainland China", "CN"),
        ("CHN", "CN"),
        ("Hong Kong", "HK"),
        ("de", "DE"),
        ("NO", "NO"),
        ("Norway", "NO"),
        ("Atlantis", None),
        ("", None),
        (None, None),
    ],
)
def test_country_codes(raw: str | None, code: str | None) -> None:
    assert country_code(raw) == code


def test_there_are_about_80_countries() -> None:
    tables = load_tables()
    assert len(set(tables.country_regions) | tables.china_countries) >= 80


def test_a_mapping_moved_in_the_yaml_moves_the_leads(tmp_path: Path) -> None:
    doc = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    doc["china"]["cn-east"]["provinces"].remove("安徽")
    doc["china"]["cn-central"]["provinces"].append("安徽")
    edited = tmp_path / "regions.yaml"
    edited.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    tables = load_tables(edited)
    assert resolve_location(None, None, "合肥", tables=tables).sales_region == "cn-central"
    assert resolve_location(None, None, "合肥").sales_region == "cn-east"  # the packaged table is untouched


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda doc: doc["china"]["cn-north"]["provinces"].append("浙江"), "both"),
        (lambda doc: doc["provinces"].pop("浙江"), "missing"),
        (lambda doc: doc["cities"]["浙江"].update({"南京": []}), "already names"),
        (lambda doc: doc["china"].update({"other": {"label": "x", "provinces": []}}), "reserved"),
    ],
)
def test_a_broken_table_is_refused_with_the_reason(
    tmp_path: Path, edit: Callable[[dict[str, Any]], object], message: str
) -> None:
    doc = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    edit(doc)
    broken = tmp_path / "regions.yaml"
    broken.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_tables(broken)


def test_the_default_table_is_loaded_once() -> None:
    assert load_tables() is load_tables()


# --- properties ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, database=None)
@given(places, places, places, st.one_of(st.none(), st.sampled_from(["13800138000", "+14155552671", "+85291234567"])))
def test_the_sales_region_is_always_a_known_code(
    country: str | None, province: str | None, city: str | None, phone_raw: str | None
) -> None:
    location = resolve_location(country, province, city, normalise_phone(phone_raw))
    assert location.sales_region in {*load_tables().codes, None}
    assert (location.sales_region is None) == (location.sales_region_label is None)
    assert set(location.inferred) <= {"country", "province", "city"}
    assert len(set(location.inferred)) == len(location.inferred)

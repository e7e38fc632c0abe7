"""normalise_person_name: Chinese names (compound surnames, titles, pinyin) and Latin-script names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.normalise.names import normalise_person_name

pytestmark = pytest.mark.unit

IDEOGRAPHIC_SPACE, KATAKANA_DOT = "\u3000", "\u30fb"

han_names = st.lists(
    st.sampled_from([*"王李张刘陈欧阳司马单曾长孙伟芳小明总先生女士经理·", "万俟", "尉迟", "爱新觉罗", " "]),
    min_size=1,
    max_size=6,
).map("".join)
latin_names = st.lists(
    st.sampled_from(["John", "SMITH", "smith", "van", "der", "Berg", "O'Brien", "mcdonald", "Jean-Luc", "Dr.", "Mme",
                     "M.", "Herr", "José", "Müller", ",", "-", "WANG", "Wei", "·", "'"]),
    min_size=1,
    max_size=5,
).map(" ".join)  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("王伟", ("王伟", "王", "伟", "wang wei", None)),
        ("欧阳修", ("欧阳修", "欧阳", "修", "ouyang xiu", None)),
        ("歐陽脩", ("欧阳修", "欧阳", "修", "ouyang xiu", None)),
        ("司马相如", ("司马相如", "司马", "相如", "sima xiangru", None)),
        (f"{IDEOGRAPHIC_SPACE}张 三{IDEOGRAPHIC_SPACE}", ("张三", "张", "三", "zhang san", None)),
        ("王总", ("王", "王", None, "wang", "总")),
        ("李小姐", ("李", "李", None, "li", "小姐")),
        ("欧阳先生", ("欧阳", "欧阳", None, "ouyang", "先生")),
        ("刘总经理", ("刘", "刘", None, "liu", "总经理")),
        ("陈明教授", ("陈明", "陈", "明", "chen ming", "教授")),
        ("单雄信", ("单雄信", "单", "雄信", "shan xiongxin", None)),
        ("曾国藩", ("曾国藩", "曾", "国藩", "zeng guofan", None)),
        ("解缙", ("解缙", "解", "缙", "xie jin", None)),
        ("区志航", ("区志航", "区", "志航", "ou zhihang", None)),
        ("尉迟恭", ("尉迟恭", "尉迟", "恭", "yuchi gong", None)),
        ("万俟卨", ("万俟卨", "万俟", "卨", "moqi xie", None)),
        ("长孙无忌", ("长孙无忌", "长孙", "无忌", "zhangsun wuji", None)),
        ("王长江", ("王长江", "王", "长江", "wang changjiang", None)),
        ("吕布", ("吕布", "吕", "布", "lv bu", None)),
        ("阿卜杜·热合曼", ("阿卜杜·热合曼", "热合曼", "阿卜杜", "reheman abodu", None)),
        (f"阿卜杜{KATAKANA_DOT}热合曼", ("阿卜杜·热合曼", "热合曼", "阿卜杜", "reheman abodu", None)),
    ],
)
def test_chinese_names(raw: str, expected: tuple[str, str, str | None, str, str | None]) -> None:
    name = normalise_person_name(raw)
    assert name is not None
    assert (name.full, name.family, name.given, name.pinyin, name.honorific) == expected
    assert (name.script, name.key) == ("han", name.full.replace("·", ""))


@pytest.mark.parametrize(
    ("raw", "full", "family", "given", "honorific"),
    [
        ("John Smith", "John Smith", "Smith", "John", None),
        ("SMITH, John", "John Smith", "Smith", "John", None),
        ("Dr. John Smith", "John Smith", "Smith", "John", "Dr"),
        ("Mrs Mary O'Brien", "Mary O'Brien", "O'Brien", "Mary", "Mrs"),
        ("ronald mcdonald", "Ronald McDonald", "McDonald", "Ronald", None),
        ("DOUGLAS MACARTHUR", "Douglas MacArthur", "MacArthur", "Douglas", None),
        ("antonio machado", "Antonio Machado", "Machado", "Antonio", None),
        ("JEAN-LUC PICARD", "Jean-Luc Picard", "Picard", "Jean-Luc", None),
        ("vincent VAN GOGH", "Vincent van Gogh", "van Gogh", "Vincent", None),
        ("Ludwig van der Berg", "Ludwig van der Berg", "van der Berg", "Ludwig", None),
        ("Herr Prof. Dr. Hans Meier", "Hans Meier", "Meier", "Hans", "Herr Prof Dr"),
        ("Mme Marie Curie", "Marie Curie", "Curie", "Marie", "Mme"),
        ("M. Dupont", "Dupont", "Dupont", None, "M."),
        ("WANG Wei", "Wei Wang", "Wang", "Wei", None),
        ("DeShawn Jones", "DeShawn Jones", "Jones", "DeShawn", None),
        ("John Smith (CEO)", "John Smith", "Smith", "John", None),
    ],
)
def test_latin_names(raw: str, full: str, family: str, given: str | None, honorific: str | None) -> None:
    name = normalise_person_name(raw)
    assert name is not None
    assert (name.full, name.family, name.given, name.honorific) == (full, family, given, honorific)
    assert (name.script, name.pinyin) == ("latin", None)


def test_latin_keys_match_across_order_case_and_accents() -> None:
    spellings = ["John Smith", "Smith, John", "SMITH John", "Mr. john smith", "John  Smith "]
    assert {name.key for raw in spellings if (name := normalise_person_name(raw))} == {"john smith"}
    accented = [normalise_person_name(raw) for raw in ("José Müller", "Jose Muller", "MÜLLER, José")]
    assert {name.key for name in accented if name} == {"jose muller"}
    hyphen = [normalise_person_name(raw) for raw in ("Jean-Luc Picard", "Jean Luc Picard")]
    assert {name.key for name in hyphen if name} == {"jean luc picard"}


def test_separate_fields_take_precedence_over_the_split() -> None:
    han = normalise_person_name(None, given_name="修", family_name="欧阳")
    assert han is not None
    assert (han.full, han.family, han.given, han.key) == ("欧阳修", "欧阳", "修", "欧阳修")
    latin = normalise_person_name(None, given_name="John", family_name="SMITH")
    assert latin is not None
    assert (latin.full, latin.family, latin.given, latin.key) == ("John Smith", "Smith", "John", "john smith")
    both = normalise_person_name("Anna Maria Lopez", given_name="Anna Maria", family_name="Lopez")
    assert both is not None
    assert (both.family, both.given) == ("Lopez", "Anna Maria")
    one = normalise_person_name("王小明", family_name="王")
    assert one is not None
    assert (one.family, one.given) == ("王", "小明")


def test_other_scripts_and_mixtures() -> None:
    cyrillic, mixed = normalise_person_name("Иван Петров"), normalise_person_name("David 王")
    assert cyrillic is not None
    assert mixed is not None
    assert (cyrillic.script, cyrillic.family, cyrillic.key) == ("other", "Петров", "иван петров")
    assert (mixed.script, mixed.pinyin) == ("mixed", None)
    titled = normalise_person_name("Mr 王伟")
    assert titled is not None
    assert (titled.script, titled.full, titled.honorific) == ("han", "王伟", "Mr")


@pytest.mark.parametrize("raw", [None, "", "  ", "\U0001f600", "()", "·"])
def test_nothing_is_none(raw: str | None) -> None:
    assert normalise_person_name(raw, None, "") is None


# --- properties ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.text(), han_names, latin_names), st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()))
def test_never_raises(name: str, given: str | None, family: str | None) -> None:
    result = normalise_person_name(name, given, family)
    assert result is None or (result.full and result.script in {"han", "latin", "mixed", "other"})


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.text(), han_names, latin_names))
def test_normalising_the_full_name_again_changes_nothing(raw: str) -> None:
    name = normalise_person_name(raw)
    if name is None:
        return
    again = normalise_person_name(name.full)
    assert again is not None
    assert (again.full, again.key) == (name.full, name.key)


@settings(max_examples=200, deadline=None, database=None)
@given(han_names)
def test_a_chinese_name_is_its_family_then_given_name(raw: str) -> None:
    name = normalise_person_name(raw)
    if name is None or name.script != "han" or "·" in name.full:
        return
    assert (name.family or "") + (name.given or "") == name.full
    assert name.family
    assert name.pinyin
    assert name.pinyin == name.pinyin.lower()

"""Readers of `leadflow import`: CSV encodings and delimiters, JSONL with bad lines, XLSX cells and sheets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from cli.imports.readers import Format, detect_format, open_table, sniff_delimiter
from cli.imports.rows import ReadError, Row

pytestmark = pytest.mark.unit

CHINESE_CSV = "姓名,手机,邮箱,公司,职位,省份,城市\n王伟,13800138000,wang.wei@yunfan.cn,上海云帆,销售总监,上海,上海\n"


def read(path: Path, **options: str | Format | None) -> tuple[list[str], int | None, list[Row]]:
    fmt = options.pop("fmt", None)
    assert fmt is None or isinstance(fmt, Format)
    encoding, sheet = options.get("encoding"), options.get("sheet")
    assert not isinstance(encoding, Format)
    assert not isinstance(sheet, Format)
    with open_table(path, detect_format(path, fmt), encoding, sheet) as table:
        return table.headers, table.total, list(table.rows)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_with_chinese_headers_in_any_common_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(CHINESE_CSV.encode(encoding))
    headers, total, rows = read(path)
    assert headers == ["姓名", "手机", "邮箱", "公司", "职位", "省份", "城市"]
    assert total == 1
    assert rows == [
        Row(
            2,
            {
                "姓名": "王伟", "手机": "13800138000", "邮箱": "wang.wei@yunfan.cn", "公司": "上海云帆",
                "职位": "销售总监", "省份": "上海", "城市": "上海",
            },
        )
    ]  # fmt: skip


def test_explicit_encoding_wins_and_a_wrong_one_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(CHINESE_CSV.encode("gbk"))
    assert read(path, encoding="gbk")[0][0] == "姓名"
    bom = tmp_path / "bom.csv"
    bom.write_bytes(CHINESE_CSV.encode("utf-8-sig"))
    assert read(bom, encoding="UTF8")[0][0] == "姓名"
    with pytest.raises(ReadError, match="not valid utf-8"):
        read(path, encoding="utf-8")
    with pytest.raises(ReadError, match="unknown encoding"):
        read(path, encoding="no-such-codec")


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "leads.txt"
    path.write_text(delimiter.join(["name", "email", "note"]) + "\n" + delimiter.join(["Ann", "a@x.io", "x,y"]) + "\n")
    if delimiter == ",":
        path.write_text('name,email,note\nAnn,a@x.io,"x,y"\n')
    _, _, rows = read(path)
    assert rows[0].cells == {"name": "Ann", "email": "a@x.io", "note": "x,y"}


def test_sniff_prefers_the_most_used_candidate() -> None:
    assert sniff_delimiter("a;b;c,d") == ";"
    assert sniff_delimiter("single") == ","
    assert sniff_delimiter("a,b\tc", tab_first=True) == "\t"


def test_csv_rows_keep_line_numbers_across_blank_and_multiline_rows(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text('\nname,note\nAnn,"two\nlines"\n\n,\nBob,ok,extra\nCid\n', encoding="utf-8")
    headers, _, rows = read(path)
    assert headers == ["name", "note"]
    assert [(row.number, row.cells) for row in rows] == [
        (3, {"name": "Ann", "note": "two\nlines"}),
        (7, {"name": "Bob", "note": "ok", "column_3": "extra"}),
        (8, {"name": "Cid"}),
    ]


def test_duplicate_and_empty_headers_get_distinct_names(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("phone,phone,,email\n1,2,3,a@b.c\n", encoding="utf-8")
    headers, _, rows = read(path)
    assert headers == ["phone", "phone (2)", "column_3", "email"]
    assert rows[0].cells["phone (2)"] == "2"


def test_jsonl_objects_bad_lines_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "leads.jsonl"
    path.write_text(
        '{"name": "Ann", "person": {"email": "a@x.io"}, "employees": 50, "vip": true, '
        '"product_interest": ["crm", "erp"]}\n'
        "\n"
        "{not json\n"
        "[1, 2]\n"
        '{"phone": 13800138000, "note": null}\n',
        encoding="utf-8-sig",
    )
    headers, total, rows = read(path)
    assert headers == []
    assert total == 5
    assert rows[0] == Row(
        1,
        {"name": "Ann", "person.email": "a@x.io", "employees": "50", "vip": "true", "product_interest": "crm, erp"},
    )
    assert (rows[1].number, rows[1].problem and rows[1].problem.code) == (3, "not_json")
    assert rows[1].cells == {"_raw": "{not json"}
    assert (rows[2].number, rows[2].problem and rows[2].problem.code) == (4, "not_an_object")
    assert rows[3] == Row(5, {"phone": "13800138000", "note": ""})


def write_xlsx(path: Path, rows: list[list[object]], title: str = "Leads", *, extra_sheet: bool = False) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        workbook.create_sheet("Other").append(["name", "email"])
        workbook["Other"].append(["Zed", "z@x.io"])
    workbook.save(path)


def test_xlsx_header_after_blank_rows_numeric_phone_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "badges.xlsx"
    when = dt.datetime(2024, 5, 1, 10, 30)  # noqa: DTZ001 - Excel stores naive datetimes
    write_xlsx(
        path,
        [
            [],
            [None, None],
            ["姓名", "手机", "提交时间", "日期", "人数"],
            ["王伟", 13800138000, when, dt.date(2024, 5, 2), 50],
        ],
    )
    headers, total, rows = read(path)
    assert headers == ["姓名", "手机", "提交时间", "日期", "人数"]
    assert total == 1
    assert rows == [
        Row(
            4,
            {
                "姓名": "王伟",
                "手机": "13800138000",
                "提交时间": "2024-05-01T10:30:00",
                "日期": "2024-05-02",
                "人数": "50",
            },
        )
    ]


def test_xlsx_first_sheet_by_default_or_the_named_one(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsm"
    write_xlsx(path, [["name"], ["Ann"]], extra_sheet=True)
    assert [row.cells for row in read(path)[2]] == [{"name": "Ann"}]
    assert [row.cells for row in read(path, sheet="Other")[2]] == [{"name": "Zed", "email": "z@x.io"}]
    with pytest.raises(ReadError, match="no sheet 'Missing'"):
        read(path, sheet="Missing")


def test_not_a_workbook_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("name\nAnn\n")
    with pytest.raises(ReadError, match=r"not a readable \.xlsx"):
        read(path)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.csv", Format.csv), ("a.TSV", Format.csv), ("a.txt", Format.csv), ("a.ndjson", Format.jsonl),
     ("a.jsonl", Format.jsonl), ("a.xlsx", Format.xlsx), ("a.xlsm", Format.xlsx)],
)  # fmt: skip
def test_format_from_extension(name: str, fmt: Format) -> None:
    assert detect_format(Path(name), None) is fmt


def test_unknown_extension_needs_format() -> None:
    with pytest.raises(ReadError, match=r"unknown file type '\.xls'"):
        detect_format(Path("old.xls"), None)
    assert detect_format(Path("old.dat"), Format.jsonl) is Format.jsonl


def test_rows_are_streamed_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("name,email\n")
        handle.writelines(f"n{i},n{i}@x.io\n" for i in range(50_000))
    with open_table(path, Format.csv) as table:
        assert table.total == 50_000
        first = next(table.rows)
        assert first == Row(2, {"name": "n0", "email": "n0@x.io"})
        # A generator, not a list: the rest is read only when asked for.
        assert not isinstance(table.rows, list)
        assert sum(1 for _ in table.rows) == 49_999


def test_utf8_with_a_few_broken_bytes_is_refused_not_read_as_gbk_mojibake(tmp_path: Path) -> None:
    path = tmp_path / "damaged.csv"
    path.write_bytes("姓名,手机\n王伟,13800138000\n李娜,13900139000\n".encode() + b"\xff\xfe,1\n")
    with pytest.raises(ReadError, match="line 4"):
        read(path)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("姓名,手机\n王伟,13800138000\n".encode("gbk"))
    assert read(gbk)[2] == [Row(2, {"姓名": "王伟", "手机": "13800138000"})]

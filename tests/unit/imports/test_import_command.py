"""`leadflow import` end to end through typer's CliRunner against a fake batch API (httpx.MockTransport)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import httpx
import openpyxl
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from cli.imports import client
from cli.imports.command import import_file
from tests.unit.imports.fake_ingest import CHANNEL, KEY, FakeIngest

pytestmark = pytest.mark.unit

HEADER = ["姓名", "手机", "邮箱", "公司", "职位", "省份", "城市", "展位"]
ROWS = [
    ["王伟", "13800138000", "wang.wei@yunfan.cn", "上海云帆", "销售总监", "上海", "上海", "A1"],
    ["李娜", "", "lina-at-example", "北京星辰", "经理", "北京", "北京", "A2"],  # bad email
    ["张强", "", "", "深圳海拓", "工程师", "广东", "深圳", ""],  # no contact
    ["赵敏", "13900139000", "", "杭州云栖", "", "浙江", "杭州", "B7"],
]
PII = ("王伟", "13800138000", "wang.wei@yunfan.cn", "李娜", "lina-at-example", "张强", "赵敏", "13900139000")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeIngest:
    api = FakeIngest()
    monkeypatch.setattr(client, "make_transport", api.transport)
    monkeypatch.setattr(client, "pause", api.waits.append)
    return api


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("import")(import_file)
    cli.command("noop")(lambda: None)  # a second command keeps "import" a subcommand, as in cli.main
    return cli


def run(*args: str | Path, key: str | None = KEY) -> Result:
    env = {"LEADFLOW_API_KEY": key, "COLUMNS": "200"}
    return CliRunner().invoke(app(), ["import", *map(str, args)], env=env)


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def summary(result: Result) -> dict[str, int]:
    """The summary table's rows as label -> count."""
    found = re.findall(r"^\W*([a-z_][a-z_ ]*?)\s*\W\s*(\d+)\s*\W*$", result.stdout, flags=re.MULTILINE)
    return {label: int(count) for label, count in found}


def read_rejected(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, so Excel shows Chinese"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_mixed_results_summary_and_rejected_file_that_reimports(tmp_path: Path, fake: FakeIngest) -> None:
    source = write_csv(tmp_path / "expo.csv", ROWS)
    result = run(source, "--source", CHANNEL)
    assert result.exit_code == 0, result.output
    assert summary(result) == {
        "rows read": 4, "accepted": 2, "resubmitted": 0, "rejected": 2, "email_invalid": 1, "no_contact": 1,
    }  # fmt: skip
    rejected_path = tmp_path / "expo.rejected.csv"
    rejected = read_rejected(rejected_path)
    assert list(rejected[0]) == [*HEADER, "_row", "_errors"]
    assert [(row["姓名"], row["_row"]) for row in rejected] == [("李娜", "3"), ("张强", "4")]
    assert rejected[0]["_errors"] == "person.email: email_invalid: not an email address"
    assert rejected[1]["_errors"].startswith("person: no_contact: ")
    assert fake.violations == []

    # The user fixes both rows in the rejected file and imports it the same way.
    rejected[0]["邮箱"] = "lina@example.cn"
    rejected[1]["手机"] = "13700137000"
    with rejected_path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, list(rejected[0]))
        writer.writeheader()
        writer.writerows(rejected)
    again = run(rejected_path, "--source", CHANNEL)
    assert again.exit_code == 0, again.output
    assert summary(again) == {"rows read": 2, "accepted": 2, "resubmitted": 0, "rejected": 0}
    assert not (tmp_path / "expo.rejected.rejected.csv").exists()
    assert fake.batches[-1][0]["attributes"] == {"展位": "A2"}
    assert "attributes" not in fake.batches[-1][1]


def test_reimporting_the_same_file_counts_resubmissions(tmp_path: Path, fake: FakeIngest) -> None:
    source = write_csv(tmp_path / "expo.csv", ROWS)
    assert run(source, "--source", CHANNEL).exit_code == 0
    again = run(source, "--source", CHANNEL)
    assert again.exit_code == 0
    assert summary(again)["resubmitted"] == 2
    assert summary(again)["accepted"] == 0
    assert [lead["external_id"] for lead in fake.batches[0]] == [lead["external_id"] for lead in fake.batches[1]]


def test_a_clean_run_removes_an_older_rejected_file(tmp_path: Path, fake: FakeIngest) -> None:
    source = write_csv(tmp_path / "expo.csv", [ROWS[0], ROWS[3]])
    stale = tmp_path / "expo.rejected.csv"
    stale.write_text("old\n")
    result = run(source, "--source", CHANNEL)
    assert result.exit_code == 0
    assert not stale.exists()
    assert "removed the older" in result.stdout


def test_batches_respect_batch_size(tmp_path: Path, fake: FakeIngest) -> None:
    fake.max_batch = 2
    rows = [[f"n{i}", f"1380000000{i}", f"n{i}@x.io", "c", "t", "上海", "上海", ""] for i in range(5)]
    source = write_csv(tmp_path / "many.csv", rows)
    result = run(source, "--source", CHANNEL, "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert [len(batch) for batch in fake.batches] == [2, 2, 1]
    assert summary(result)["accepted"] == 5
    assert fake.violations == []


def test_429_with_retry_after_then_success(tmp_path: Path, fake: FakeIngest) -> None:
    fake.script = [(429, {"Retry-After": "0"})]
    result = run(write_csv(tmp_path / "a.csv", [ROWS[0]]), "--source", CHANNEL)
    assert result.exit_code == 0, result.output
    assert summary(result)["accepted"] == 1
    assert fake.waits == [0.0]
    assert fake.requests == 2


def test_503_then_success(tmp_path: Path, fake: FakeIngest) -> None:
    fake.script = [(503, {})]
    result = run(write_csv(tmp_path / "a.csv", [ROWS[0]]), "--source", CHANNEL)
    assert result.exit_code == 0, result.output
    assert summary(result)["accepted"] == 1
    assert len(fake.waits) == 1


def test_401_exits_1_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"error": {"code": "missing_key", "message": "X-API-Key header required"}}
    monkeypatch.setattr(client, "make_transport", lambda: httpx.MockTransport(lambda _: httpx.Response(401, json=body)))
    older = tmp_path / "a.rejected.csv"
    older.write_text("from an earlier run\n")
    result = run(write_csv(tmp_path / "a.csv", ROWS), "--source", CHANNEL)
    assert result.exit_code == 1, result.output
    assert "HTTP 401 missing_key" in result.stderr
    assert "check --api-key or LEADFLOW_API_KEY" in result.stderr
    assert "rows from 2 on were not imported" in result.stderr
    # The run stopped before those rows were retried: the older file is left, and said to be older.
    assert older.read_text() == "from an earlier run\n"
    assert "is from a previous run" in result.stdout


def test_wrong_key_exits_1(tmp_path: Path, fake: FakeIngest) -> None:
    result = run(write_csv(tmp_path / "a.csv", ROWS), "--source", CHANNEL, "--api-key", "stolen", key=None)
    assert result.exit_code == 1, result.output
    assert "HTTP 403 forbidden" in result.stderr
    assert "wrong or revoked" in result.stderr
    assert "stolen" not in result.output


def test_key_refused_mid_import_keeps_what_was_done(
    tmp_path: Path, fake: FakeIngest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def revoke_after_first(request: httpx.Request) -> httpx.Response:
        if fake.requests >= 1:
            return httpx.Response(403, json={"error": {"code": "forbidden", "message": "key revoked"}})
        return fake.handle(request)

    monkeypatch.setattr(client, "make_transport", lambda: httpx.MockTransport(revoke_after_first))
    result = run(write_csv(tmp_path / "a.csv", ROWS), "--source", CHANNEL, "--batch-size", "2")
    assert result.exit_code == 1
    assert "key revoked" in result.stderr
    assert "rows from 4 on were not imported" in result.stderr
    assert summary(result) == {
        "rows read": 2, "accepted": 1, "resubmitted": 0, "rejected": 1, "email_invalid": 1,
    }  # fmt: skip
    assert [row["_row"] for row in read_rejected(tmp_path / "a.rejected.csv")] == ["3"]


def test_gbk_file_is_read_correctly(tmp_path: Path, fake: FakeIngest) -> None:
    source = write_csv(tmp_path / "gbk.csv", [ROWS[0]], encoding="gbk")
    result = run(source, "--source", CHANNEL)
    assert result.exit_code == 0, result.output
    lead = fake.batches[0][0]
    assert lead["person"] == {
        "name": "王伟",
        "phone": "13800138000",
        "email": "wang.wei@yunfan.cn",
        "title": "销售总监",
    }
    assert lead["company"] == {"name": "上海云帆", "region": "上海", "city": "上海"}
    assert lead["attributes"] == {"展位": "A1"}


def test_jsonl_with_a_bad_line(tmp_path: Path, fake: FakeIngest) -> None:
    source = tmp_path / "partner.jsonl"
    good = {"external_id": "P-1", "person": {"email": "a@x.io"}, "company": {"employees": 50}}
    source.write_text(json.dumps(good) + "\n\n{oops\n", encoding="utf-8")
    result = run(source, "--source", CHANNEL)
    assert result.exit_code == 0, result.output
    assert summary(result) == {"rows read": 2, "accepted": 1, "resubmitted": 0, "rejected": 1, "not_json": 1}
    assert fake.batches == [[{"source": CHANNEL, "external_id": "P-1", "person": {"email": "a@x.io"},
                              "company": {"employees": 50}}]]  # fmt: skip
    rejected = read_rejected(tmp_path / "partner.rejected.csv")
    assert rejected == [{"_raw": "{oops", "_row": "3", "_errors": rejected[0]["_errors"]}]
    assert rejected[0]["_errors"].startswith("<root>: not_json: ")


def test_xlsx_numeric_phone_and_date(tmp_path: Path, fake: FakeIngest) -> None:
    source = tmp_path / "badges.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["姓名", "手机", "提交时间", "人数"])
    sheet.append(["王伟", 13800138000, dt.datetime(2024, 5, 1, 10, 0), 1200.0])  # noqa: DTZ001 - Excel is naive
    workbook.save(source)
    result = run(source, "--source", CHANNEL, "--tz", "Asia/Shanghai")
    assert result.exit_code == 0, result.output
    lead = fake.batches[0][0]
    assert lead["person"] == {"name": "王伟", "phone": "13800138000"}
    assert lead["captured_at"] == "2024-05-01T10:00:00+08:00"
    assert lead["company"] == {"employees": 1200}


def test_dry_run_sends_nothing_and_prints_no_pii(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"dry run sent {request.url}")

    monkeypatch.setattr(client, "make_transport", lambda: httpx.MockTransport(no_network))
    result = run(write_csv(tmp_path / "a.csv", ROWS), "--source", CHANNEL, "--dry-run", key=None)
    assert result.exit_code == 0, result.output
    assert "person.email" in result.stdout
    assert "row 2:" in result.stdout
    assert summary(result)["would be sent"] == 3
    assert summary(result)["no_contact"] == 1
    assert not any(value in result.output for value in PII)
    assert not (tmp_path / "a.rejected.csv").exists()


def test_no_pii_on_the_terminal_in_a_real_run(tmp_path: Path, fake: FakeIngest) -> None:
    result = run(write_csv(tmp_path / "a.csv", ROWS), "--source", CHANNEL)
    assert result.exit_code == 0
    assert not any(value in result.output for value in PII)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", CHANNEL, "--format", "nope"], "nope"),
        (["--source", CHANNEL, "--tz", "Mars/Olympus"], "IANA"),
        (["--source", CHANNEL, "--batch-size", "1001"], "1001"),
        (["--source", CHANNEL, "--map", "broken"], "HEADER=field"),
        (["--source", CHANNEL, "--encoding", "klingon"], "unknown encoding"),
        (["--source", " "], "--source"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, fake: FakeIngest, args: list[str], message: str) -> None:
    result = run(write_csv(tmp_path / "a.csv", ROWS), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert fake.requests == 0


def test_missing_key_unknown_extension_and_missing_file_exit_2(tmp_path: Path, fake: FakeIngest) -> None:
    source = write_csv(tmp_path / "a.csv", ROWS)
    assert "LEADFLOW_API_KEY" in run(source, "--source", CHANNEL, key=None).stderr
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    assert run(old, "--source", CHANNEL).exit_code == 2
    assert run(tmp_path / "missing.csv", "--source", CHANNEL).exit_code == 2
    assert run(source, "--source", CHANNEL, "--rejected-file", source).exit_code == 2
    assert fake.requests == 0


def test_registered_as_leadflow_import() -> None:
    from cli.main import app as leadflow  # noqa: PLC0415 - imports every command module; only this test needs it

    result = CliRunner().invoke(leadflow, ["import", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--rejected-file" in result.stdout

"""`leadflow publish`: files read and mapped by `leadflow import`'s code, sent as envelopes; the example lead file."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import typer
from aiokafka.errors import KafkaTimeoutError
from pydantic import ValidationError
from typer.testing import CliRunner

from cli import publish as publish_module
from cli.config import resolve_bootstrap
from cli.imports.mapping import build_column_map
from cli.imports.readers import open_table
from cli.imports.rows import ReadError
from cli.imports.runner import Settings
from cli.publish import Record, publish_format, to_records
from cli.tail import summarize
from shared.schemas.events import LeadCaptured

if TYPE_CHECKING:
    from types import ModuleType

    from click.testing import Result

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples"
CONTACTS = ("phone", "email", "wechat")


def _load_make_leads() -> ModuleType:
    """Import deploy/examples/make_leads.py, which is a script, not a package module."""
    spec = importlib.util.spec_from_file_location("make_leads", EXAMPLES / "make_leads.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


def _example_rows() -> list[dict[str, str]]:
    """The committed example file, row by row."""
    with (EXAMPLES / "leads.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def records(path: Path, source: str = "csv-import") -> list[Record]:
    """What publish would send for the file: read, then mapped, by the shared import code."""
    chosen = publish_format(path, None)
    with open_table(path, chosen) as table:
        return to_records(table.rows, Settings(source, build_column_map(None, []), dt.UTC, 500), chosen)


def mapped(tmp_path: Path, row: dict[str, str], source: str = "csv-import") -> dict[str, Any]:
    """One row written as a CSV file and read back as publish maps it."""
    path = tmp_path / "row.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([list(row), list(row.values())])
    (record,) = records(path, source)
    assert record.payload is not None
    return record.payload


def test_flat_headers_map_to_person_company_and_top_level(tmp_path: Path) -> None:
    row = {
        "external_id": "X-1", "name": "王伟", "title": "销售总监", "phone": "138 0013 8000",
        "email": "wang.wei@yunfan.cn", "wechat": "wangwei_88", "company": "上海云帆信息技术有限公司",
        "domain": "yunfan.cn", "industry": "软件", "employees": "320", "country": "中国",
        "province": "上海", "city": "上海", "product_interest": "crm", "campaign": "2024-shanghai-expo",
    }  # fmt: skip
    payload = mapped(tmp_path, row, "trade-show")
    assert payload == {
        "source": "trade-show",
        "external_id": "X-1",
        "campaign": "2024-shanghai-expo",
        "product_interest": ["crm"],
        "person": {
            "name": "王伟", "title": "销售总监", "phone": "138 0013 8000",
            "email": "wang.wei@yunfan.cn", "wechat": "wangwei_88",
        },
        "company": {
            "name": "上海云帆信息技术有限公司", "domain": "yunfan.cn", "industry": "软件",
            "employees": 320, "country": "中国", "region": "上海", "city": "上海",
        },
    }  # fmt: skip
    LeadCaptured.model_validate(payload)


def test_unknown_columns_become_attributes_and_headers_are_case_insensitive_or_chinese(tmp_path: Path) -> None:
    row = {" Email ": "a@b.co", "booth": "A12", "lead_source_detail": "名片扫描", "姓名": "王伟", "公司名称": "云帆"}
    payload = mapped(tmp_path, row)
    assert payload["person"] == {"email": "a@b.co", "name": "王伟"}
    assert payload["company"] == {"name": "云帆"}
    assert payload["attributes"] == {"booth": "A12", "lead_source_detail": "名片扫描"}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("crm;erp", ["crm", "erp"]), ("crm; erp ,cloud", ["crm", "erp", "cloud"]), ("CRM;;", ["CRM"]),
     ("crm\uff1berp\uff0canalytics", ["crm", "erp", "analytics"]),  # full-width semicolon and comma
     ("crm、erp/cloud", ["crm", "erp", "cloud"])],  # import's separators: publish now splits on them too
)  # fmt: skip
def test_product_interest_is_split_on_separators(tmp_path: Path, cell: str, expected: list[str]) -> None:
    assert mapped(tmp_path, {"product_interest": cell, "email": "a@b.co"})["product_interest"] == expected


@pytest.mark.parametrize(("cell", "employees"), [("5", 5), ("1,200", 1200), ("50000", 50000), ("50.0", 50)])
def test_numeric_employees_go_to_the_company(tmp_path: Path, cell: str, employees: int) -> None:
    payload = mapped(tmp_path, {"employees": cell})
    assert (payload["company"], "attributes" in payload) == ({"employees": employees}, False)


@pytest.mark.parametrize("cell", ["50-200", "约500人", "1000+", "unknown", "-5", "12.5", "1,20"])
def test_non_numeric_employees_are_kept_as_text_attributes(tmp_path: Path, cell: str) -> None:
    payload = mapped(tmp_path, {"employees": cell, "email": "a@b.co"})
    assert (payload["attributes"], "company" in payload) == ({"employees": cell}, False)
    LeadCaptured.model_validate(payload)


def test_empty_and_blank_cells_are_absent_and_a_headerless_cell_is_kept(tmp_path: Path) -> None:
    payload = mapped(tmp_path, {"name": "", "phone": "   ", "email": "a@b.co", "company": "", "": "x"})
    assert payload == {
        "source": "csv-import", "external_id": payload["external_id"],
        "person": {"email": "a@b.co"}, "attributes": {"column_5": "x"},
    }  # fmt: skip


def test_a_row_without_any_contact_is_still_produced_and_a_missing_id_is_a_content_hash(tmp_path: Path) -> None:
    """As `leadflow import` does: publishing the same row again gives the same (source, external_id)."""
    payload = mapped(tmp_path, {"external_id": "X-9", "name": "李娜", "company": "某某公司"})
    assert (payload["external_id"], payload["person"]) == ("X-9", {"name": "李娜"})
    first = mapped(tmp_path, {"email": "a@b.co", "name": "王伟"})
    assert first["external_id"].startswith("row-")
    assert mapped(tmp_path, {"email": "a@b.co", "name": "王伟"}, "other")["external_id"] == first["external_id"]
    assert mapped(tmp_path, {"email": "c@d.co", "name": "王伟"})["external_id"] != first["external_id"]


def test_csv_bom_blank_rows_and_extra_cells(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("\ufeffexternal_id,email\nA-1,a@b.co\n,\nA-2,c@d.co,surplus\n".encode())
    found = [(record.line, record.payload or {}) for record in records(path)]
    assert [(line, payload["external_id"]) for line, payload in found] == [(2, "A-1"), (4, "A-2")]
    assert found[1][1]["attributes"] == {"column_3": "surplus"}


def test_a_gbk_csv_is_read_and_an_undecodable_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("姓名,email\n王伟,a@b.co\n".encode("gbk"))
    assert [(record.payload or {}).get("person") for record in records(path)] == [{"name": "王伟", "email": "a@b.co"}]
    path.write_bytes(b"name,email\n\xff\xfe\x80,a@b.co\n")
    with pytest.raises(ReadError, match="neither UTF-8 nor GB18030"):
        records(path)


def test_jsonl_lines_keep_their_source_and_bad_lines_are_skipped_with_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "leads.json"  # publish reads .json as JSONL, as it always did
    good = {"source": "web", "external_id": "J-1", "person": {"email": "a@b.co"}, "product_interest": ["crm"]}
    lines = [json.dumps(good), "[1, 2]", "", "{not json", '"a string"', json.dumps({"person": {"phone": "138"}})]
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    found = records(path, "fallback")
    assert [(record.line, record.payload is not None) for record in found] == [
        (1, True), (2, False), (4, False), (5, False), (6, True),
    ]  # fmt: skip
    assert (found[0].payload, (found[4].payload or {}).get("source")) == (good, "fallback")
    assert [found[1].error, found[3].error] == ["a JSON list, not an object", "a JSON str, not an object"]
    assert (found[2].error or "").startswith("not JSON: ")


class FakeProducer:
    """Stands in for AIOKafkaProducer: keeps what is sent; the `fail_at`-th send is not acknowledged."""

    sent: list[tuple[str, dict[str, Any], list[tuple[str, bytes]]]]
    fail_at: int | None = None

    def __init__(self, **_: object) -> None:
        self.count = 0

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def send(self, topic: str, value: bytes, headers: list[tuple[str, bytes]]) -> asyncio.Future[None]:
        self.count += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.count == self.fail_at:
            future.set_exception(KafkaTimeoutError())
        else:
            self.sent.append((topic, json.loads(value), headers))
            future.set_result(None)
        return future


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> type[FakeProducer]:
    fake = type("Producer", (FakeProducer,), {"sent": [], "fail_at": None})
    monkeypatch.setattr(publish_module, "AIOKafkaProducer", fake)
    return fake


def run(*args: str | Path) -> Result:
    app = typer.Typer()
    app.command("publish")(publish_module.publish)
    app.command("noop")(lambda: None)  # a second command keeps "publish" a subcommand, as in cli.main
    return CliRunner().invoke(app, ["publish", *map(str, args), "--bootstrap", "fake:9092"], env={"COLUMNS": "200"})


def test_every_example_row_is_published_and_validates_unless_deliberately_invalid(
    producer: type[FakeProducer],
) -> None:
    result = run(EXAMPLES / "leads.csv")
    assert result.exit_code == 0, result.output
    rows = _example_rows()
    assert 380 <= len(rows) <= 420
    assert f"sent {len(rows)} to leads.captured.v1 at fake:9092; skipped 0, failed 0" in result.stdout
    payloads = [body["payload"] for _, body, _ in producer.sent]
    assert [payload["external_id"] for payload in payloads] == [row["external_id"] for row in rows]
    for payload in payloads:
        LeadCaptured.model_validate(payload)  # the schema itself never refuses a row
    assert 10 <= sum(not any(p.get("person", {}).get(key) for key in CONTACTS) for p in payloads) <= 20
    topic, body, headers = producer.sent[0]
    assert (topic, body["event_type"], body["lead_id"]) == ("leads.captured.v1", "leads.captured", None)
    assert (body["payload"]["source"], ("event_type", b"leads.captured") in headers) == ("csv-import", True)


def test_bad_lines_and_failed_sends_are_reported_and_exit_1(tmp_path: Path, producer: type[FakeProducer]) -> None:
    path = tmp_path / "leads.jsonl"
    path.write_text('{"source": "web", "person": {"email": "a@b.co"}}\n{oops\n{"person": {"phone": "1"}}\n')
    producer.fail_at = 2
    result = run(path)
    assert result.exit_code == 1
    assert "sent 1 to leads.captured.v1 at fake:9092; skipped 1, failed 1" in result.stdout
    assert "skipped line 2: not JSON" in result.stdout
    assert "failed line 3: KafkaTimeoutError" in result.stdout


def test_import_options_map_columns_and_zone_naive_times(tmp_path: Path, producer: type[FakeProducer]) -> None:
    path = tmp_path / "partner.dat"  # an unknown suffix is read as CSV, as publish always did
    path.write_text("联系手机,时间,备用\n13800138000,2024-05-01 10:00,x\n", encoding="utf-8")
    result = run(path, "--source", "partner-a", "--map", "联系手机=phone", "--map", "备用=", "--tz", "Asia/Shanghai")
    assert result.exit_code == 0, result.output
    (payload,) = [body["payload"] for _, body, _ in producer.sent]
    assert payload["person"] == {"phone": "13800138000"}
    assert payload["captured_at"] == "2024-05-01T10:00:00+08:00"
    assert "attributes" not in payload
    assert payload["source"] == "partner-a"


@pytest.mark.parametrize(
    ("args", "message"),
    [(("--tz", "Mars/Olympus"), "not an IANA time zone"), (("--map", "x=nowhere"), "unknown field"),
     (("--format", "xlsx"), "not a readable .xlsx"), (("--source", " "), "must not be empty")],
)  # fmt: skip
def test_unusable_options_and_files_send_nothing(
    tmp_path: Path, producer: type[FakeProducer], args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("email\na@b.co\n", encoding="utf-8")
    result = run(path, *args)
    assert result.exit_code == 1
    assert message in result.stdout
    assert producer.sent == []


def test_example_rows_without_contact_would_fail_a_contact_rule() -> None:
    """A sanity check on the file: the invalid rows are exactly those with no phone, email and wechat."""
    leads = _load_make_leads().build()
    generated = {lead.row["external_id"] for lead in leads if lead.kind.startswith("invalid")}
    no_contact = {row["external_id"] for row in _example_rows() if not any(row[key] for key in CONTACTS)}
    assert generated == no_contact


def test_example_duplicates_share_an_email_or_phone_with_an_earlier_row() -> None:
    leads = _load_make_leads().build()
    duplicates = [lead for lead in leads if lead.kind.startswith("duplicate")]
    assert 25 <= len(duplicates) <= 35
    by_id = {lead.row["external_id"]: lead.row for lead in leads}
    for lead in duplicates:
        original = by_id[lead.of]
        assert lead.row["external_id"] > original["external_id"]
        same_email = lead.row["email"] and lead.row["email"].lower() == original["email"].lower()
        same_phone = lead.row["phone"] and _digits(lead.row["phone"])[-8:] == _digits(original["phone"])[-8:]
        assert same_email or same_phone, lead.row["external_id"]


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def test_the_example_file_is_the_generator_output(tmp_path: Path) -> None:
    make_leads = _load_make_leads()
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    make_leads.main(first)
    make_leads.main(second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == (EXAMPLES / "leads.csv").read_bytes()


def test_bootstrap_resolution_order(tmp_path: Path) -> None:
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"bootstrap_servers": "127.0.0.1:19092"}), encoding="utf-8")
    env = {"KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"}
    assert resolve_bootstrap("flag:1", env, stack) == "flag:1"
    assert resolve_bootstrap(None, env, stack) == "kafka:9092"
    assert resolve_bootstrap(None, {}, stack) == "127.0.0.1:19092"
    assert resolve_bootstrap(None, {}, tmp_path / "absent.json") == "127.0.0.1:9092"
    stack.write_text("{broken", encoding="utf-8")
    assert resolve_bootstrap(None, {}, stack) == "127.0.0.1:9092"


def test_lead_captured_still_refuses_what_ingest_must_reject() -> None:
    """Why the mapping must not validate: a missing source would make pydantic raise, not report."""
    with pytest.raises(ValidationError):
        LeadCaptured.model_validate({"person": {"email": "a@b.co"}})


def test_tail_masks_the_person_but_not_the_company(tmp_path: Path) -> None:
    """`leadflow tail` shares the CLI: its one-line summaries never show a person's identifiers in clear."""
    payload = mapped(
        tmp_path,
        {"name": "欧阳娜娜", "phone": "+86 138 0013 8000", "email": "Nana@yunfan.cn", "wechat": "oyn_88",
         "company": "上海云帆信息技术有限公司"},
    )  # fmt: skip
    line = summarize("leads.captured", payload)
    for secret in ("欧阳娜娜", "0013", "Nana@", "oyn_88"):
        assert secret not in line
    assert "company.name=上海云帆信息技术有限公司" in line
    assert "person.email=N***@yunfan.cn" in line

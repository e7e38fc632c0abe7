"""`leadflow import` against the real ingest service: a GBK spreadsheet export in, leads and a rejects file out."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from shared.schemas import topics
from tests.checks import sql_rows
from tests.harness import Pipeline, collect
from tests.integration.test_ingest_http import add_channel

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROWS = [
    ["编号", "姓名", "手机", "邮箱", "公司", "职位", "省份", "城市", "展位备注"],
    [
        "B-1",
        "王伟",
        "138 0013 8000",
        "wang.wei@yunfan.cn",
        "上海云帆信息技术有限公司",
        "销售总监",
        "上海",
        "上海",
        "A12",
    ],
    ["B-2", "歐陽修", "", "ouyang@qq.com", "臺灣積體電路製造股份有限公司", "采购经理", "广东省", "深圳", ""],
    ["B-3", "李娜", "12345", "not-an-email", "无联系方式公司", "", "", "", "坏数据"],
    ["B-4", "张三", "13900139000", "", "", "", "浙江", "杭州", ""],
]


def test_import_a_gbk_csv_with_chinese_headers_then_fix_and_reimport_the_rejects(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.start(["ingest"])
    pipeline.wait_healthy()
    key = add_channel(pipeline.database_url, "expo-2026")
    url = f"http://127.0.0.1:{pipeline.ports['ingest']}"
    source = tmp_path / "badges.csv"
    with source.open("w", encoding="gbk", newline="") as handle:
        csv.writer(handle).writerows(ROWS)

    run = ["import", str(source), "--source", "expo-2026", "--api-key", key, "--url", url]
    result = CliRunner().invoke(cli, run)
    assert result.exit_code == 0, result.output
    assert "accepted" in result.output
    for pii in ("王伟", "13800138000", "wang.wei@yunfan.cn"):
        assert pii not in result.output  # the summary shows counts and reasons, never the people
    rejected_file = tmp_path / "badges.rejected.csv"
    with rejected_file.open(encoding="utf-8-sig", newline="") as handle:
        rejected = list(csv.DictReader(handle))
    assert [r["编号"] for r in rejected] == ["B-3"]
    assert "no_contact" in rejected[0]["_errors"]

    again = CliRunner().invoke(cli, run)  # the same file again: resubmissions, never second leads
    assert again.exit_code == 0, again.output
    assert "resubmitted" in again.output
    assert sql_rows(pipeline.database_url, "SELECT count(*), sum(times_seen) FROM ingest.submissions") == [(3, 6)]

    rejected[0]["手机"] = "13700137000"  # the user fixes the row and imports the rejects file
    with rejected_file.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rejected[0]))
        writer.writeheader()
        writer.writerows(rejected)
    fixed = CliRunner().invoke(
        cli, ["import", str(rejected_file), "--source", "expo-2026", "--api-key", key, "--url", url]
    )
    assert fixed.exit_code == 0, fixed.output

    def done(c: object) -> bool:
        return len(c.of(topics.LEADS_INGESTED)) >= 4  # type: ignore[attr-defined]

    got = asyncio.run(collect(pipeline.bootstrap, [topics.LEADS_INGESTED], done, 60))
    leads = {e["payload"]["external_id"]: e["payload"] for e in got.of(topics.LEADS_INGESTED)}
    assert set(leads) == {"B-1", "B-2", "B-3", "B-4"}
    assert leads["B-1"]["person"]["phone"] == "+8613800138000"
    assert leads["B-1"]["person"]["title"] == "销售总监"
    assert leads["B-1"]["attributes"]["展位备注"] == "A12"
    assert leads["B-2"]["company"]["name"] == "台湾积体电路制造股份有限公司"
    assert (leads["B-2"]["person"]["family_name"], leads["B-2"]["location"]["sales_region"]) == ("欧阳", "cn-south")
    assert leads["B-4"]["location"] == {"country": "CN", "province": "浙江", "city": "杭州", "sales_region": "cn-east"}

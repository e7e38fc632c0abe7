"""Deterministic lead submissions for e2e and fault tests, with known duplicates and invalid ones."""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from services.ingest.domain import lead_id_for
from shared.schemas.envelope import Envelope, make_envelope
from shared.schemas.topics import LEADS_CAPTURED
from tests.harness import Collected

PROVINCES = ["上海", "浙江", "江苏", "北京", "广东", "四川", "湖北", "辽宁", "陕西"]
COUNTRIES = ["US", "GB", "DE", "SG", "JP", "BR"]  # BR matches no rule: those leads go to the pool
TITLES = ["CEO", "销售总监", "IT Manager", "采购经理", "Engineer", "VP Sales", "总经理", "Analyst"]
SOURCE = "e2e-web"


@dataclass(frozen=True)
class Submission:
    external_id: str
    envelope: Envelope
    kind: str  # unique | duplicate | invalid
    source: str = SOURCE

    @property
    def lead_id(self) -> uuid.UUID:
        return lead_id_for(self.source, self.external_id, self.envelope.event_id)


def _person(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        "name": f"Person {i}",
        "title": rng.choice(TITLES),
        "email": f"person{i}@company{i}.example.com",
        "phone": f"138{i:08d}",
    }


def _company(i: int, rng: random.Random) -> dict[str, Any]:
    if i % 3:
        location = {"country": "CN", "region": rng.choice(PROVINCES)}
    else:
        location = {"country": rng.choice(COUNTRIES)}
    return {"name": f"Company {i} Ltd", "employees": rng.choice([5, 50, 200, 2000]), **location}


def make_submissions(  # noqa: PLR0913 -- the data set's shape
    unique: int = 930, duplicates: int = 50, invalid: int = 20, seed: int = 7, source: str = SOURCE, first: int = 0
) -> list[Submission]:
    """`unique` people, `duplicates` re-appearances of them under new external ids, `invalid` without contact."""
    rng = random.Random(seed)
    payloads: list[tuple[str, dict[str, Any], str]] = []
    for i in range(first, first + unique):  # `first` keeps separate data sets' people apart
        payloads.append((f"u{i}", {"person": _person(i, rng), "company": _company(i, rng)}, "unique"))
    for d in range(duplicates):
        i = rng.randrange(unique)  # an index into payloads, so relative to `first`
        person = dict(payloads[i][1]["person"])
        if d % 2:
            person["email"] = person["email"].upper()  # same address, other case
        else:
            person = {
                "name": person["name"],
                "phone": f"{person['phone'][:3]}-{person['phone'][3:7]}-{person['phone'][7:]}",
            }
        payloads.append((f"d{d}", {"person": person, "company": payloads[i][1]["company"]}, "duplicate"))
    for k in range(invalid):
        payloads.append((f"x{k}", {"person": {"name": f"Nobody {k}"}, "company": {"name": "No Contact Co"}}, "invalid"))
    rng.shuffle(payloads)
    return [
        Submission(
            ext,
            make_envelope(
                LEADS_CAPTURED, {"source": source, "external_id": ext, **body}, producer="tests@0", lead_id=None
            ),
            kind,
            source,
        )
        for ext, body, kind in payloads
    ]


def outcomes(submissions: list[Submission], collected: Collected) -> dict[str, list[str]]:
    """Each submission's outcomes, from the output topics (one copy per event id)."""
    by_lead = {s.lead_id: s.external_id for s in submissions}
    found: dict[str, list[str]] = defaultdict(list)
    for event in collected.of("leads.rejected.v1"):
        found[event["payload"]["external_id"]].append("rejected")
    for event in collected.of("leads.merged.v1"):
        found[by_lead[uuid.UUID(event["payload"]["lead_id"])]].append("merged")
    for topic, name in (("leads.assigned.v1", "assigned"), ("leads.pooled.v1", "pooled")):
        for event in collected.of(topic):
            found[by_lead[uuid.UUID(event["payload"]["lead_id"])]].append(name)
    return found


def assignments_per_lead(collected: Collected) -> Counter[str]:
    """Distinct assignments per lead (a re-published copy of one assignment counts once)."""
    ids = {(e["payload"]["lead_id"], e["payload"]["assignment_id"]) for e in collected.of("leads.assigned.v1")}
    return Counter(lead for lead, _ in ids)


def all_accounted(submissions: list[Submission]) -> Any:
    """A `done` predicate: every submission has reached an outcome topic."""

    def done(collected: Collected) -> bool:
        return len(outcomes(submissions, collected)) >= len(submissions)

    return done


def scored_payload(
    region: str = "cn-east", grade: str = "A", source: str = "web-form", company: str | None = None
) -> dict[str, Any]:
    """A `leads.scored.v1` payload: a submission through ingest's real normalisation, graded as asked."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from services.ingest.domain import Accepted, ingest  # noqa: PLC0415

    submission: dict[str, Any] = {"source": source, "person": {"name": "王伟", "phone": "13800138000"}}
    if company:
        submission["company"] = {"name": company}
    result = ingest(submission, uuid.uuid4(), now=datetime.now(UTC))
    assert isinstance(result, Accepted)
    payload = {**result.payload, "dedup": {"verdict": "new"}}
    payload["location"] = {**payload.get("location", {}), "sales_region": region}
    return {
        **payload,
        "score": {"A": 90, "B": 60, "C": 40, "D": 10}[grade],
        "grade": grade,
        "temperature": "hot" if grade == "A" else "cold",
        "model_version": "test",
    }

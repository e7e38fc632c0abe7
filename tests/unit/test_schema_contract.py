"""The public event schemas are a contract (ARCHITECTURE.md §3–4): only additive changes in v1."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from shared.schemas import events
from shared.schemas import topics as t
from shared.schemas.compat import breaking_changes
from shared.schemas.envelope import Envelope, make_envelope
from shared.schemas.export import ENVELOPE_FILE, all_schemas, export_schemas, render

BREAKING = (
    "incompatible change to a public v1 schema: make it additive or publish a new version "
    "(e.g. leads.scored.v2) — see ARCHITECTURE.md"
)
SCHEMA_DIR = Path(__file__).parents[2] / "shared" / "schemas" / "jsonschema"
STALE = "run `python -m shared.schemas.export` and commit"


# --- the contract ------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("name", [ENVELOPE_FILE, *(f"{topic}.json" for topic in t.ALL_TOPICS)])
def test_models_match_the_committed_schema(name: str) -> None:
    """Generated schema vs committed file: compatible first (else new version), then identical."""
    path = SCHEMA_DIR / name
    generated = all_schemas()[name]
    assert path.is_file(), f"{name}: no committed schema in {SCHEMA_DIR} — {STALE}"
    committed_text = path.read_text(encoding="utf-8")
    problems = breaking_changes(json.loads(committed_text), generated)
    assert not problems, f"{name}: {BREAKING}\n  " + "\n  ".join(problems)
    assert committed_text == render(generated), f"{name}: committed schema is out of date (additive change?) — {STALE}"


@pytest.mark.unit
def test_no_committed_schema_lost_its_topic() -> None:
    """A committed schema whose topic is gone means a public topic was removed or renamed."""
    committed = {path.name for path in SCHEMA_DIR.glob("*.json")}
    orphans = sorted(committed - set(all_schemas()))
    assert not orphans, f"schemas without a topic in ALL_TOPICS: {orphans}: {BREAKING}"


@pytest.mark.unit
def test_export_writes_one_stable_file_per_topic(tmp_path: Path) -> None:
    """The exporter writes every file, sorted and newline-terminated, identically on each run."""
    first = {path.name: path.read_text(encoding="utf-8") for path in export_schemas(tmp_path)}
    second = {path.name: path.read_text(encoding="utf-8") for path in export_schemas(tmp_path)}
    assert set(first) == {ENVELOPE_FILE, *(f"{topic}.json" for topic in t.ALL_TOPICS)}
    assert first == second
    assert all(text.endswith("}\n") for text in first.values())
    scored = json.loads(first[f"{t.LEADS_SCORED}.json"])
    assert scored["properties"]["event_type"]["const"] == "leads.scored"
    assert scored["properties"]["schema_version"]["const"] == 1
    assert scored["properties"]["payload"]["properties"]["factors"]["items"] == {"$ref": "#/$defs/Factor"}
    assert "Factor" in scored["$defs"]


# --- every topic has a model, and example events fit the exported schema ----------------------


@pytest.mark.unit
def test_every_topic_has_a_payload_model() -> None:
    """PAYLOADS covers exactly ALL_TOPICS."""
    assert set(events.PAYLOADS) == set(t.ALL_TOPICS)


def _example_payload(topic: str) -> BaseModel:
    """A small valid payload for a few topics."""
    lead_id = uuid.uuid4()
    if topic == t.LEADS_CAPTURED:
        return events.LeadCaptured(source="web-form", person=events.Person(email="a@example.com"))
    if topic == t.LEADS_ASSIGNED:
        decision = events.Decision(rule_id="r1", rule_set_version="7", explanation="east region, A grade")
        return events.LeadAssigned(
            assignment_id=uuid.uuid4(),
            lead_id=lead_id,
            rep_id="rep-1",
            team_id="east",
            rule_id="r1",
            rule_set_version="7",
            strategy="round_robin",
            attempt=1,
            decision=decision,
        )
    quality = events.Quality(present=["email"], score=0.5)
    return events.LeadScored(
        source="web-form",
        quality=quality,
        original={"source": "web-form"},
        dedup=events.DedupVerdict(verdict="new"),
        score=87,
        grade="A",
        temperature="hot",
        model_version="m1",
    )


def _check_required(schema: dict[str, Any], instance: dict[str, Any], defs: dict[str, Any], path: str) -> None:
    """Minimal structural check without `jsonschema`: required keys present, consts equal, recursively."""
    schema = defs[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
    if "const" in schema:
        assert instance == schema["const"], path
    for name in schema.get("required", ()):
        assert name in instance, f"{path}.{name} is required"
    for name, sub in schema.get("properties", {}).items():
        if isinstance(instance.get(name), dict):
            _check_required(sub, instance[name], defs, f"{path}.{name}")
        elif name in instance and "const" in sub:
            assert instance[name] == sub["const"], f"{path}.{name}"


@pytest.mark.unit
@pytest.mark.parametrize("topic", [t.LEADS_CAPTURED, t.LEADS_SCORED, t.LEADS_ASSIGNED])
def test_example_event_fits_its_exported_schema(topic: str) -> None:
    """`jsonschema` is not installed: validate the wire JSON with the models and the schema's structure."""
    envelope = make_envelope(topic, _example_payload(topic), producer="test@0", lead_id=uuid.uuid4())
    wire = json.loads(envelope.model_dump_json())
    schema = all_schemas()[f"{topic}.json"]
    _check_required(schema, wire, schema.get("$defs", {}), "<event>")
    parsed = Envelope.model_validate(wire)
    events.PAYLOADS[topic].model_validate(parsed.payload)
    assert set(wire["payload"]) <= set(schema["properties"]["payload"]["properties"])


# --- breaking_changes on synthetic model pairs -------------------------------------------------


def _diff(old: type[BaseModel], new: type[BaseModel]) -> list[str]:
    """breaking_changes between the schemas of two model versions."""
    return breaking_changes(old.model_json_schema(), new.model_json_schema())


class InnerV1(BaseModel):
    city: str | None = None
    zip: str | None = None


class InnerV2(BaseModel):
    city: str | None = None


@pytest.mark.unit
@pytest.mark.parametrize(
    ("old_fields", "new_fields", "expected"),
    [
        pytest.param({"a": str, "b": int}, {"a": str}, ["b: property removed"], id="field-removed"),
        pytest.param(
            {"email": str},
            {"email_address": str},
            ["email: property removed", "email_address: new required property"],
            id="field-renamed",
        ),
        pytest.param({"n": str}, {"n": int}, ["n: type changed from string to integer"], id="type-changed"),
        pytest.param({"n": (int, 0)}, {"n": int}, ["n: optional property made required"], id="optional-to-required"),
        pytest.param({"n": int}, {"n": (int, 0)}, ["n: required property made optional"], id="required-to-optional"),
        pytest.param(
            {"n": str | None}, {"n": str}, ["n: type narrowed: null no longer allowed"], id="nullable-to-non-null"
        ),
        pytest.param({"n": str}, {"n": str | None}, ["n: type widened: may now be null"], id="now-nullable"),
        pytest.param(
            {"k": Literal["a", "b", "c"]},
            {"k": Literal["a", "b"]},
            ["k: enum value(s) removed: ['c']"],
            id="enum-value-removed",
        ),
        pytest.param({"k": str}, {"k": Literal["a"]}, ["k: now restricted to the values ['a']"], id="restricted"),
        pytest.param({"a": str}, {"a": str, "b": int}, ["b: new required property"], id="new-required-field"),
        pytest.param(
            {"inner": InnerV1}, {"inner": InnerV2}, ["inner.zip: property removed"], id="nested-field-removed"
        ),
        pytest.param(
            {"tags": list[str]},
            {"tags": list[int]},
            ["tags[]: type changed from string to integer"],
            id="list-item-type-changed",
        ),
        pytest.param(
            {"m": dict[str, str]},
            {"m": dict[str, int]},
            ["m.*: type changed from string to integer"],
            id="map-value-type-changed",
        ),
        pytest.param({"n": Field(ge=0)}, {"n": Field(ge=1)}, ["n: minimum changed from 0 to 1"], id="bound-tightened"),
    ],
)
def test_breaking_change_is_reported(
    old_fields: dict[str, Any], new_fields: dict[str, Any], expected: list[str]
) -> None:
    """Each incompatible change is found, with the field's path."""
    assert _diff(_model("Old", old_fields), _model("New", new_fields)) == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    ("old_fields", "new_fields"),
    [
        pytest.param({"a": str}, {"a": str, "b": (str | None, None)}, id="optional-field-added"),
        pytest.param({"a": str}, {"a": str, "b": (list[str], [])}, id="defaulted-field-added"),
        pytest.param({"k": Literal["a", "b"]}, {"k": Literal["a", "b", "c"]}, id="enum-value-added"),
        pytest.param({"k": Literal["a", "b"]}, {"k": str}, id="enum-relaxed-to-string"),
        pytest.param({"inner": InnerV2}, {"inner": InnerV1}, id="nested-optional-field-added"),
        pytest.param({"a": (str, Field(description="x"))}, {"a": (str, Field(description="y"))}, id="description"),
    ],
)
def test_compatible_change_is_not_reported(old_fields: dict[str, Any], new_fields: dict[str, Any]) -> None:
    """Additive changes pass (enum values: consumers must tolerate unknown ones)."""
    assert _diff(_model("Old", old_fields), _model("New", new_fields)) == []


def _model(name: str, fields: dict[str, Any]) -> type[BaseModel]:
    """A model from `{name: type | (type, default) | FieldInfo}` (a bare FieldInfo means int)."""
    spec = {key: (int, value) if isinstance(value, FieldInfo) else value for key, value in fields.items()}
    return create_model(name, **spec)


class Node(BaseModel):
    name: str
    children: list[Node] = Field(default_factory=list)
    parent: Node | None = None


class NodeV2(BaseModel):
    name: str
    children: list[NodeV2] = Field(default_factory=list)


@pytest.mark.unit
def test_recursive_schema_terminates() -> None:
    """Self-referencing `$defs` are compared once, not forever, and changes in them are still found."""
    assert _diff(Node, Node) == []
    assert _diff(Node, NodeV2) == ["parent: property removed"]


@pytest.mark.unit
def test_changing_a_topics_constant_event_type_is_breaking() -> None:
    """Pointing a schema at another topic breaks the const event_type and the payload."""
    schemas = all_schemas()
    problems = breaking_changes(schemas[f"{t.LEADS_SCORED}.json"], schemas[f"{t.LEADS_ASSIGNED}.json"])
    assert "event_type: enum value(s) removed: ['leads.scored']" in problems
    assert "payload.score: property removed" in problems


@pytest.mark.unit
def test_identical_event_schemas_have_no_breaking_changes() -> None:
    """Every current schema is compatible with itself."""
    assert all(breaking_changes(schema, schema) == [] for schema in all_schemas().values())


@pytest.mark.unit
def test_export_refuses_to_overwrite_a_published_schema_with_a_breaking_one(tmp_path: Path) -> None:
    from shared.schemas.export import IncompatibleSchemaError, export_schemas, render  # noqa: PLC0415

    export_schemas(tmp_path)
    published = tmp_path / "leads.scored.v1.json"
    schema = json.loads(published.read_text(encoding="utf-8"))
    payload = schema["properties"]["payload"]
    payload["properties"]["brand_new_required"] = {"type": "string"}
    payload["required"] = [*payload["required"], "brand_new_required"]
    published.write_text(render(schema), encoding="utf-8")  # as if it had been published with that field
    with pytest.raises(IncompatibleSchemaError, match=r"leads\.scored\.v1\.json"):
        export_schemas(tmp_path)
    assert "brand_new_required" in published.read_text(encoding="utf-8"), "the published file must stay untouched"

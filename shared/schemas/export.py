"""Export the public event schemas as JSON Schema files, one per topic plus the envelope.

    python -m shared.schemas.export [OUT_DIR]     # default: shared/schemas/jsonschema/

The committed files are the contract other teams depend on; tests/unit/test_schema_contract.py
checks that the models still match them and that any difference is additive.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.schemas.compat import breaking_changes
from shared.schemas.envelope import Envelope
from shared.schemas.events import PAYLOADS
from shared.schemas.topics import ALL_TOPICS, event_type_of, schema_version_of

Schema = dict[str, Any]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX = "urn:leadflow:schema:"
ENVELOPE_FILE = "envelope.json"
DEFAULT_OUT_DIR = Path(__file__).parent / "jsonschema"


def envelope_schema() -> Schema:
    """The envelope with a free-form `payload` (ARCHITECTURE.md §3)."""
    schema = Envelope.model_json_schema()
    schema.update(
        {
            "$schema": DIALECT,
            "$id": f"{ID_PREFIX}envelope",
            "title": "Envelope",
            "description": "Every event on every leadflow topic (ARCHITECTURE.md §3); "
            "the payload is specific to the topic, see <topic>.json.",
        }
    )
    return schema


def event_schema(topic: str) -> Schema:
    """The full event on `topic`: the envelope with its payload model in place of `payload`."""
    model = PAYLOADS[topic]
    schema = Envelope.model_json_schema()
    payload = model.model_json_schema()
    defs = _merge_defs(schema.pop("$defs", {}), payload.pop("$defs", {}))
    properties = schema["properties"]
    properties["payload"] = payload
    properties["event_type"] = {"const": event_type_of(topic), "title": "Event Type", "type": "string"}
    properties["schema_version"] = {"const": schema_version_of(topic), "title": "Schema Version", "type": "integer"}
    schema.update(
        {
            "$schema": DIALECT,
            "$id": f"{ID_PREFIX}{topic}",
            "title": topic,
            "description": f"An event on the topic `{topic}`: the envelope (ARCHITECTURE.md §3) "
            f"with a `{model.__name__}` payload (§4).",
        }
    )
    if defs:
        schema["$defs"] = defs
    return schema


def _merge_defs(first: Schema, second: Schema) -> Schema:
    """Union of two `$defs`; a name defined differently in both is a bug, not a silent overwrite."""
    clashes = sorted(name for name in first.keys() & second.keys() if first[name] != second[name])
    if clashes:
        raise ValueError(f"conflicting $defs: {clashes}")
    return {**first, **second}


def all_schemas() -> dict[str, Schema]:
    """File name -> schema, for the envelope and every topic."""
    return {ENVELOPE_FILE: envelope_schema()} | {f"{topic}.json": event_schema(topic) for topic in ALL_TOPICS}


def render(schema: Schema) -> str:
    """Stable text of a schema: sorted keys, indent 2, UTF-8, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class IncompatibleSchemaError(ValueError):
    """Re-exporting would replace a published schema with one its consumers cannot read."""


def export_schemas(out_dir: Path) -> list[Path]:
    """Write every schema to `out_dir` and return the paths written.

    An existing file is only replaced by a compatible one: a breaking change to a published topic
    needs a new version (a new topic), so re-exporting can never hide it from the contract test.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    schemas = all_schemas()
    problems = [
        f"{name}: {change}"
        for name, schema in schemas.items()
        if (path := out_dir / name).exists()
        for change in breaking_changes(json.loads(path.read_text(encoding="utf-8")), schema)
    ]
    if problems:
        raise IncompatibleSchemaError("refusing to export incompatible schemas:\n" + "\n".join(problems))
    written = []
    for name, schema in schemas.items():
        path = out_dir / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m shared.schemas.export [OUT_DIR]`."""
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else DEFAULT_OUT_DIR
    for path in export_schemas(out_dir):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

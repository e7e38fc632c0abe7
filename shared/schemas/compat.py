"""Find the changes between two JSON Schemas of one public event that break its consumers.

The rule (ARCHITECTURE.md, introduction; §3-4): topic names, the envelope and the payload fields are public.
Additive changes are free; anything else needs a new topic version. A change is compatible only
if a consumer written against either schema can read events written against the other one: new
consumers read retained or replayed old events, old consumers read new events.

Breaking (each reported as one human-readable line, prefixed with the field's dotted path):
- a property removed (a rename shows up as removed + a new property);
- a new required property, or an optional property made required (old events lack it);
- a required property made optional (new events may lack what old consumers rely on);
- a type changed, narrowed (e.g. null no longer allowed) or widened (e.g. now nullable,
  integer -> number): the value no longer fits what one side expects;
- an enum/Literal/const value removed, or a free value restricted to an enum;
- a bound (minimum, maxLength, ...), `format` or `pattern` changed, in either direction;
- a map or object that accepted additional properties no longer does.

Compatible:
- a new optional property (every v1 model accepts unknown fields: `extra="allow"`);
- a new enum value, or an enum relaxed to a free value: producers may evolve forward, so
  consumers must treat unknown values of an enum field as "other" rather than fail;
- titles, descriptions, defaults and examples (the exporter's diff still makes you commit them).

Local `$ref`s (`#/$defs/...`) are resolved in their own document; `anyOf`/`oneOf` branches
are matched by JSON type (and by title among several objects); arrays' `items` and maps'
`additionalProperties` are walked. Recursive definitions are visited once per pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]
Branch = tuple[str, Schema]  # (the `$ref` it was reached through or "", the resolved schema)

# Keywords whose change, either way, alters which values are valid and what consumers may assume.
CONSTRAINTS = (
    *("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf"),
    *("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"),
    *("format", "pattern"),
)
JSON_TYPE_OF = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


@dataclass
class _Walk:
    """Both documents (for `$ref`s), the ref pairs already compared, and the findings."""

    old_root: Schema
    new_root: Schema
    seen: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def report(self, path: str, text: str) -> None:
        """Record one breaking change at `path`."""
        self.problems.append(f"{path or '<root>'}: {text}")


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Every change from `old` to `new` that breaks a consumer of either; empty if compatible."""
    walk = _Walk(old, new)
    _compare(walk, "", old, new)
    return walk.problems


# --- resolving ---------------------------------------------------------------------------------


def _resolve(node: Schema, root: Schema) -> tuple[Schema, str]:
    """Follow `$ref`s and single-element `allOf`s; returns the schema and the last ref followed."""
    ref = ""
    while True:
        if "$ref" in node:
            ref = node["$ref"]
            target = root["$defs"][ref.removeprefix("#/$defs/")]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        elif len(node.get("allOf", ())) == 1:
            node = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
        else:
            return node, ref


def _branches(node: Schema, root: Schema) -> list[Branch]:
    """The alternatives a value may take, each with the `$ref` it came from (or "")."""
    node, ref = _resolve(node, root)
    alternatives = node.get("anyOf") or node.get("oneOf")
    if alternatives:
        return [branch for alt in alternatives for branch in _branches(alt, root)]
    if isinstance(node.get("type"), list):
        return [(ref, {**node, "type": kind}) for kind in node["type"]]
    return [(ref, node)]


def _kind(branch: Schema) -> str:
    """The JSON type of one branch; `any` for an unconstrained schema."""
    if "type" in branch:
        return str(branch["type"])
    values = branch.get("enum", [branch["const"]] if "const" in branch else [])
    if values:
        return JSON_TYPE_OF.get(type(values[0]), "any")
    if "properties" in branch or "additionalProperties" in branch:
        return "object"
    return "array" if "items" in branch else "any"


def _values(branch: Schema) -> set[Any] | None:
    """The allowed values of an enum/const branch, or None when any value of its type goes."""
    if "const" in branch:
        return {_hashable(branch["const"])}
    if "enum" in branch:
        return {_hashable(value) for value in branch["enum"]}
    return None


def _hashable(value: Any) -> Any:
    """Make JSON values usable in sets (enums may hold lists or objects)."""
    return repr(value) if isinstance(value, dict | list) else value


# --- comparing ---------------------------------------------------------------------------------


def _compare(walk: _Walk, path: str, old: Schema, new: Schema) -> None:
    """Compare one value's schema in both documents, recursing into what it contains."""
    old_branches, new_branches = _branches(old, walk.old_root), _branches(new, walk.new_root)
    _compare_kinds(walk, path, _kinds(old_branches), _kinds(new_branches))
    for (old_ref, old_branch), (new_ref, new_branch) in _pair_branches(old_branches, new_branches):
        if old_ref and new_ref:
            if (old_ref, new_ref) in walk.seen:
                continue
            walk.seen.add((old_ref, new_ref))
        _compare_branch(walk, path, old_branch, new_branch)


def _kinds(branches: list[Branch]) -> set[str]:
    """The JSON types a value may take."""
    return {_kind(branch) for _, branch in branches}


def _compare_kinds(walk: _Walk, path: str, old: set[str], new: set[str]) -> None:
    """Report a changed, narrowed or widened set of JSON types."""
    removed, added = sorted(old - new), sorted(new - old)
    if removed and added:
        walk.report(path, f"type changed from {' | '.join(sorted(old))} to {' | '.join(sorted(new))}")
    elif removed == ["null"]:
        walk.report(path, "type narrowed: null no longer allowed")
    elif removed:
        walk.report(path, f"type narrowed: {', '.join(removed)} no longer allowed")
    elif added == ["null"]:
        walk.report(path, "type widened: may now be null")
    elif added:
        walk.report(path, f"type widened: may now also be {', '.join(added)}")


def _pair_branches(old: list[Branch], new: list[Branch]) -> list[tuple[Branch, Branch]]:
    """Match old and new branches of the same kind: by title when several, else in order."""
    pairs = []
    for kind in sorted(_kinds(old) & _kinds(new)):
        olds = [b for b in old if _kind(b[1]) == kind]
        news = [b for b in new if _kind(b[1]) == kind]
        by_title = {b[1].get("title"): b for b in news}
        for index, branch in enumerate(olds):
            match = by_title.get(branch[1].get("title")) if len(olds) > 1 else None
            pairs.append((branch, match or news[min(index, len(news) - 1)]))
    return pairs


def _compare_branch(walk: _Walk, path: str, old: Schema, new: Schema) -> None:
    """Compare two branches of the same JSON type."""
    _compare_values(walk, path, _values(old), _values(new))
    _compare_keywords(walk, path, old, new)
    kind = _kind(old)
    if kind == "object":
        _compare_objects(walk, path, old, new)
    elif kind == "array" and "items" in old and "items" in new:
        _compare(walk, f"{path}[]", old["items"], new["items"])


def _compare_values(walk: _Walk, path: str, old: set[Any] | None, new: set[Any] | None) -> None:
    """Report enum/const values removed, or a free value restricted (added values are fine)."""
    if new is None:
        return
    if old is None:
        walk.report(path, f"now restricted to the values {sorted(new, key=repr)}")
    elif removed := old - new:
        walk.report(path, f"enum value(s) removed: {sorted(removed, key=repr)}")


def _compare_keywords(walk: _Walk, path: str, old: Schema, new: Schema) -> None:
    """Report bounds, formats and patterns that changed."""
    for keyword in CONSTRAINTS:
        if old.get(keyword) != new.get(keyword):
            walk.report(path, f"{keyword} changed from {old.get(keyword)!r} to {new.get(keyword)!r}")


def _compare_objects(walk: _Walk, path: str, old: Schema, new: Schema) -> None:
    """Compare the properties, required set and additional properties of two objects."""
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    prefix = f"{path}." if path else ""
    for name in sorted(old_props.keys() - new_props.keys()):
        walk.report(prefix + name, "property removed")
    for name in sorted(new_required - old_required):
        text = "optional property made required" if name in old_props else "new required property"
        walk.report(prefix + name, text)
    for name in sorted((old_required - new_required) & new_props.keys()):
        walk.report(prefix + name, "required property made optional")
    for name in sorted(old_props.keys() & new_props.keys()):
        _compare(walk, prefix + name, old_props[name], new_props[name])
    extra = "additionalProperties"
    _compare_additional(walk, path, old.get(extra, True), new.get(extra, True))


def _compare_additional(walk: _Walk, path: str, old: Schema | bool, new: Schema | bool) -> None:  # noqa: FBT001 -- a JSON Schema value may be a boolean
    """Compare `additionalProperties`: map values are walked; closing an open object breaks."""
    if new is False and old is not False:
        walk.report(path, "additional properties no longer allowed")
    elif old is not False and (isinstance(old, dict) or isinstance(new, dict)):
        old_values, new_values = (side if isinstance(side, dict) else {} for side in (old, new))
        _compare(walk, f"{path}.*" if path else "*", old_values, new_values)

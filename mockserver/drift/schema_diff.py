"""Comparing two resolved schemas and classifying every difference.

Rules, from the point of view of a client of the API:

- value sets (enum, ranges, lengths, format, pattern, type): fewer accepted values is
  *breaking*, more is *non-breaking*; this is applied alike to request and response
  schemas, as the issue defines it (a new response enum value is non-breaking, but the
  message tells clients that switch on the value to handle it);
- fields: a removed field is *breaking*; a new optional field is *non-breaking*; a new
  *required* field breaks requests (clients do not send it) but not responses;
- ``required``: in a request, a field becoming required is breaking and becoming
  optional is not; in a response it is the other way round (clients lose a guarantee);
- descriptions, titles, examples and ``x-`` extensions are *info*, except the fake's
  own: ``x-derived`` and every ``x-freepik-mock-*`` key (cross-field rules, for one) are
  the vendored spec's additions, so an upstream without them is not drift, only a
  "not covered" note.

Both schemas arrive with every ``$ref`` resolved; ``allOf`` of objects is merged first,
so moving fields between a schema and its parts is not drift.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .findings import Direction, Finding, JsonPath, NotCovered, Severity, json_path

__all__ = [
    "DERIVED_MARK",
    "VENDORED_EXTENSION_PREFIX",
    "Collector",
    "diff_schema",
    "is_derived",
    "is_vendored_extension",
    "summarize",
]

DERIVED_MARK = "x-derived"
# Extensions the fake reads from its own spec; upstream never has them.
VENDORED_EXTENSION_PREFIX = "x-freepik-mock-"

_INFO_KEYS = {
    "description": "description-changed",
    "title": "description-changed",
    "summary": "description-changed",
    "example": "example-changed",
    "examples": "example-changed",
    "externalDocs": "description-changed",
    "xml": "description-changed",
    "$comment": "description-changed",
}
_UPPER_BOUNDS = {
    "maximum": "range",
    "maxLength": "length",
    "maxItems": "length",
    "maxProperties": "length",
}
_LOWER_BOUNDS = {
    "minimum": "range",
    "minLength": "length",
    "minItems": "length",
    "minProperties": "length",
}
_NUMERIC_FORMATS = {None, "float", "double", "int32", "int64"}
_HANDLED = {
    "type",
    "nullable",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "oneOf",
    "anyOf",
    "not",
    "format",
    "pattern",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "multipleOf",
    "uniqueItems",
    "exclusiveMaximum",
    "exclusiveMinimum",
    *_UPPER_BOUNDS,
    *_LOWER_BOUNDS,
    *_INFO_KEYS,
}


@dataclass
class Collector:
    """Gathers findings and "not covered" notes for one comparison."""

    findings: list[Finding] = field(default_factory=list)
    not_covered: list[NotCovered] = field(default_factory=list)

    def add(
        self,
        severity: Severity,
        rule: str,
        at: JsonPath,
        old: Any,
        new: Any,
        message: str,
        operations: tuple[str, ...],
    ) -> None:
        self.findings.append(Finding(severity, rule, json_path(at), old, new, message, operations))

    def note(self, at: JsonPath, reason: str, operations: tuple[str, ...]) -> None:
        self.not_covered.append(NotCovered(json_path(at), reason, operations))


def is_derived(node: Any) -> bool:
    """Whether the vendored spec marks ``node`` as its own addition, not upstream's."""
    return isinstance(node, Mapping) and bool(node.get(DERIVED_MARK))


def is_vendored_extension(key: object) -> bool:
    """Whether ``key`` is one of the fake's own extensions (``x-freepik-mock-*``)."""
    return isinstance(key, str) and key.startswith(VENDORED_EXTENSION_PREFIX)


def summarize(schema: Any) -> Any:
    """A schema without its documentation, for a finding's old/new value."""
    if isinstance(schema, Mapping):
        return {
            key: summarize(value)
            for key, value in schema.items()
            if key not in _INFO_KEYS and not str(key).startswith("x-")
        }
    if isinstance(schema, list):
        return [summarize(item) for item in schema]
    return schema


def _normalize(schema: Any) -> dict[str, Any]:
    """A mapping view of ``schema`` with ``allOf`` of plain object parts merged in."""
    if not isinstance(schema, Mapping):
        return {"not": {}} if schema is False else {}
    out = {key: value for key, value in schema.items() if key != DERIVED_MARK}
    parts = out.get("allOf")
    if not isinstance(parts, list) or not all(isinstance(part, Mapping) for part in parts):
        return out
    del out["allOf"]
    for part in (_normalize(part) for part in parts):
        for key, value in part.items():
            if key == "properties" and isinstance(value, Mapping):
                out["properties"] = {**value, **(out.get("properties") or {})}
            elif key == "required" and isinstance(value, list):
                seen = list(out.get("required") or [])
                out["required"] = seen + [name for name in value if name not in seen]
            else:
                out.setdefault(key, value)
    return out


def _types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    types = set(declared) if isinstance(declared, list) else {declared}
    if schema.get("nullable") is True:
        types.add("null")
    return frozenset(str(kind) for kind in types)


def _covers(wide: frozenset[str] | None, narrow: frozenset[str] | None) -> bool:
    if wide is None:
        return True
    if narrow is None:
        return False
    return all(kind in wide or (kind == "integer" and "number" in wide) for kind in narrow)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _show(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _Scope:
    out: Collector
    direction: Direction
    operations: tuple[str, ...]

    def add(
        self, severity: Severity, rule: str, at: JsonPath, old: Any, new: Any, message: str
    ) -> None:
        self.out.add(severity, rule, at, old, new, message, self.operations)


def diff_schema(
    old: Any,
    new: Any,
    at: JsonPath,
    name: str,
    direction: Direction,
    out: Collector,
    operations: tuple[str, ...],
) -> None:
    """Record every difference between the resolved schemas ``old`` and ``new``."""
    _diff(_normalize(old), _normalize(new), at, name, _Scope(out, direction, operations))


def _diff(old: dict[str, Any], new: dict[str, Any], at: JsonPath, name: str, scope: _Scope) -> None:
    if old == new:
        return
    old_types, new_types = _types(old), _types(new)
    if old_types != new_types:
        shown_old = " or ".join(sorted(old_types)) if old_types is not None else "any"
        shown_new = " or ".join(sorted(new_types)) if new_types is not None else "any"
        if _covers(new_types, old_types):
            only_null = (new_types or frozenset()) - (old_types or frozenset()) == {"null"}
            scope.add(
                Severity.NON_BREAKING,
                "nullable-added" if only_null else "type-widened",
                (*at, "type"),
                shown_old,
                shown_new,
                f"{name}: type widened from {shown_old} to {shown_new}",
            )
        else:
            rule = (
                "nullable-removed"
                if _covers(old_types, new_types)
                and ((old_types or frozenset()) - (new_types or frozenset()) == {"null"})
                else "type-changed"
            )
            scope.add(
                Severity.BREAKING,
                rule,
                (*at, "type"),
                shown_old,
                shown_new,
                f"{name}: type changed from {shown_old} to {shown_new}",
            )
            if rule == "type-changed":
                return  # everything else about the old type no longer applies
    _diff_enum(old, new, at, name, scope)
    _diff_bounds(old, new, at, name, scope)
    _diff_formats(old, new, at, name, scope)
    _diff_properties(old, new, at, name, scope)
    _diff_subschemas(old, new, at, name, scope)
    _diff_annotations(old, new, at, name, scope)


def _diff_enum(
    old: dict[str, Any], new: dict[str, Any], at: JsonPath, name: str, scope: _Scope
) -> None:
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if old_enum == new_enum:
        return
    where = (*at, "enum")
    if old_enum is None:
        scope.add(
            Severity.BREAKING,
            "enum-added",
            where,
            None,
            new_enum,
            f"{name}: now limited to the values {_show(new_enum)}",
        )
        return
    if new_enum is None:
        scope.add(
            Severity.NON_BREAKING,
            "enum-removed",
            where,
            old_enum,
            None,
            f"{name}: no longer limited to the values {_show(old_enum)}",
        )
        return
    new_keys = {_key(value) for value in new_enum}
    old_keys = {_key(value) for value in old_enum}
    removed = [value for value in old_enum if _key(value) not in new_keys]
    added = [value for value in new_enum if _key(value) not in old_keys]
    if removed:
        scope.add(
            Severity.BREAKING,
            "enum-value-removed",
            where,
            old_enum,
            new_enum,
            f"{name}: enum value{'s' if len(removed) > 1 else ''} "
            f"{', '.join(_show(v) for v in removed)} removed",
        )
    if added:
        hint = (
            " (clients that switch on this value must handle it)"
            if scope.direction is Direction.RESPONSE
            else ""
        )
        scope.add(
            Severity.NON_BREAKING,
            "enum-value-added",
            where,
            old_enum,
            new_enum,
            f"{name}: new enum value{'s' if len(added) > 1 else ''} "
            f"{', '.join(_show(v) for v in added)}{hint}",
        )


def _bound(
    scope: _Scope,
    narrowed: bool,
    kind: str,
    where: JsonPath,
    keyword: str,
    old: Any,
    new: Any,
    name: str,
) -> None:
    if old is None:
        change = f"{keyword} {_show(new)} added"
    elif new is None:
        change = f"{keyword} {_show(old)} removed"
    else:
        change = f"{keyword} {_show(old)} -> {_show(new)}"
    if narrowed:
        scope.add(
            Severity.BREAKING, f"{kind}-narrowed", where, old, new, f"{name}: {change} (narrowed)"
        )
    else:
        scope.add(
            Severity.NON_BREAKING, f"{kind}-widened", where, old, new, f"{name}: {change} (widened)"
        )


def _diff_bounds(
    old: dict[str, Any], new: dict[str, Any], at: JsonPath, name: str, scope: _Scope
) -> None:
    for keyword, kind in _UPPER_BOUNDS.items():
        was, now = old.get(keyword), new.get(keyword)
        if was != now:
            narrowed = now is not None and (was is None or now < was)
            _bound(scope, narrowed, kind, (*at, keyword), keyword, was, now, name)
    for keyword, kind in _LOWER_BOUNDS.items():
        was, now = old.get(keyword), new.get(keyword)
        if was != now:
            narrowed = now is not None and (was is None or now > was)
            _bound(scope, narrowed, kind, (*at, keyword), keyword, was, now, name)
    for keyword, upper in (("exclusiveMaximum", True), ("exclusiveMinimum", False)):
        was, now = old.get(keyword), new.get(keyword)
        if was == now or (not was and not now):
            continue
        if isinstance(was, bool) or isinstance(now, bool):  # OpenAPI 3.0: a flag
            narrowed = bool(now) and not was
        else:  # OpenAPI 3.1: a number
            narrowed = now is not None and (was is None or (now < was if upper else now > was))
        _bound(scope, narrowed, "range", (*at, keyword), keyword, was, now, name)
    for keyword in ("multipleOf", "uniqueItems"):
        was, now = old.get(keyword), new.get(keyword)
        if was != now and (was or now):
            _bound(
                scope,
                bool(now),
                "range" if keyword == "multipleOf" else "length",
                (*at, keyword),
                keyword,
                was,
                now,
                name,
            )


def _diff_formats(
    old: dict[str, Any], new: dict[str, Any], at: JsonPath, name: str, scope: _Scope
) -> None:
    for keyword in ("format", "pattern"):
        was, now = old.get(keyword), new.get(keyword)
        if was == now:
            continue
        where = (*at, keyword)
        if (
            keyword == "format"
            and {was, now} <= _NUMERIC_FORMATS
            and (_types(new) or frozenset()) <= {"number", "integer", "null"}
        ):
            scope.add(
                Severity.INFO,
                "format-changed",
                where,
                was,
                now,
                f"{name}: numeric format {_show(was)} -> {_show(now)} (JSON numbers "
                "carry no width)",
            )
        elif now is None:
            scope.add(
                Severity.NON_BREAKING,
                f"{keyword}-removed",
                where,
                was,
                None,
                f"{name}: {keyword} {_show(was)} removed (widened)",
            )
        else:
            scope.add(
                Severity.BREAKING,
                f"{keyword}-changed",
                where,
                was,
                now,
                f"{name}: {keyword} {_show(was)} -> {_show(now)} (narrowed)",
            )
    for keyword in ("deprecated", "readOnly", "writeOnly"):
        was, now = bool(old.get(keyword)), bool(new.get(keyword))
        if was != now:
            scope.add(
                Severity.NON_BREAKING,
                f"{keyword}-changed",
                (*at, keyword),
                was,
                now,
                f"{name}: {keyword} {was} -> {now}",
            )
    if old.get("default") != new.get("default"):
        scope.add(
            Severity.NON_BREAKING,
            "default-changed",
            (*at, "default"),
            old.get("default"),
            new.get("default"),
            f"{name}: default {_show(old.get('default'))} -> "
            f"{_show(new.get('default'))} (clients that omit it get another behaviour)",
        )


def _diff_properties(
    old: dict[str, Any], new: dict[str, Any], at: JsonPath, name: str, scope: _Scope
) -> None:
    old_props: Mapping[str, Any] = old.get("properties") or {}
    new_props: Mapping[str, Any] = new.get("properties") or {}
    old_required = set(old.get("required") or [])
    new_required = set(new.get("required") or [])
    request = scope.direction is Direction.REQUEST
    for prop in old_props:
        if prop in new_props:
            continue
        where = (*at, "properties", prop)
        if is_derived(old_props[prop]):
            scope.out.note(
                where, f"field {prop!r} is a vendored addition this source lacks", scope.operations
            )
            continue
        scope.add(
            Severity.BREAKING,
            "field-removed",
            where,
            summarize(old_props[prop]),
            None,
            f"{name}: field {prop!r} removed",
        )
    for prop in new_props:
        if prop in old_props:
            continue
        where = (*at, "properties", prop)
        if prop in new_required and request:
            scope.add(
                Severity.BREAKING,
                "required-field-added",
                where,
                None,
                summarize(new_props[prop]),
                f"{name}: new required field {prop!r} (requests without it fail)",
            )
        else:
            kind = "required" if prop in new_required else "optional"
            scope.add(
                Severity.NON_BREAKING,
                "field-added",
                where,
                None,
                summarize(new_props[prop]),
                f"{name}: new {kind} field {prop!r}",
            )
    for prop in old_props:
        if prop in new_props:
            _diff(
                _normalize(old_props[prop]),
                _normalize(new_props[prop]),
                (*at, "properties", prop),
                prop,
                scope,
            )
    for prop in sorted(old_required ^ new_required):
        if (prop in new_props) != (prop in old_props):
            continue  # reported above as a new or removed field
        became = prop in new_required
        breaking = became if request else not became
        what = "became required" if became else "is no longer required"
        consequence = (
            (" (requests without it fail)" if became else " (requests may omit it)")
            if request
            else ("" if became else " (responses may omit it)")
        )
        scope.add(
            Severity.BREAKING if breaking else Severity.NON_BREAKING,
            "field-became-required" if became else "field-no-longer-required",
            (*at, "required"),
            sorted(old_required),
            sorted(new_required),
            f"{name}: field {prop!r} {what}{consequence}",
        )


def _diff_subschemas(
    old: dict[str, Any], new: dict[str, Any], at: JsonPath, name: str, scope: _Scope
) -> None:
    was, now = old.get("additionalProperties", True), new.get("additionalProperties", True)
    if was is not False and now is False:
        scope.add(
            Severity.BREAKING,
            "additional-properties-forbidden",
            (*at, "additionalProperties"),
            was,
            now,
            f"{name}: fields not in the schema are no longer allowed",
        )
    elif was is False and now is not False:
        scope.add(
            Severity.NON_BREAKING,
            "additional-properties-allowed",
            (*at, "additionalProperties"),
            was,
            now,
            f"{name}: fields not in the schema are now allowed",
        )
    elif was is not False and now is not False:
        _diff(
            _normalize(was),
            _normalize(now),
            (*at, "additionalProperties"),
            f"{name} (other fields)",
            scope,
        )
    if "items" in old or "items" in new:
        _diff(
            _normalize(old.get("items")),
            _normalize(new.get("items")),
            (*at, "items"),
            f"{name}[]",
            scope,
        )
    for keyword in ("oneOf", "anyOf"):
        was_list, now_list = old.get(keyword) or [], new.get(keyword) or []
        if was_list == now_list:
            continue
        for index in range(min(len(was_list), len(now_list))):
            _diff(
                _normalize(was_list[index]),
                _normalize(now_list[index]),
                (*at, keyword, index),
                f"{name} ({keyword}[{index}])",
                scope,
            )
        if len(was_list) > len(now_list):
            scope.add(
                Severity.BREAKING,
                "alternative-removed",
                (*at, keyword),
                summarize(was_list),
                summarize(now_list),
                f"{name}: {keyword} lost {len(was_list) - len(now_list)} alternative(s)",
            )
        elif len(now_list) > len(was_list):
            scope.add(
                Severity.NON_BREAKING if was_list else Severity.BREAKING,
                "alternative-added",
                (*at, keyword),
                summarize(was_list),
                summarize(now_list),
                f"{name}: {keyword} gained {len(now_list) - len(was_list)} alternative(s)",
            )
    if old.get("not") != new.get("not"):
        scope.add(
            Severity.BREAKING,
            "schema-changed",
            (*at, "not"),
            summarize(old.get("not")),
            summarize(new.get("not")),
            f"{name}: 'not' constraint changed",
        )


def _diff_annotations(
    old: dict[str, Any], new: dict[str, Any], at: JsonPath, name: str, scope: _Scope
) -> None:
    for key in sorted({*old, *new}, key=str):
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        if is_vendored_extension(key) and key not in new:
            scope.out.note(
                (*at, key),
                f"{key} is the fake's own extension, which this source does not have",
                scope.operations,
            )
        elif key in _INFO_KEYS:
            scope.add(
                Severity.INFO, _INFO_KEYS[key], (*at, key), was, now, f"{name}: {key} changed"
            )
        elif str(key).startswith("x-"):
            scope.add(
                Severity.INFO, "extension-changed", (*at, key), was, now, f"{name}: {key} changed"
            )
        elif key not in _HANDLED:
            scope.add(
                Severity.NON_BREAKING,
                "keyword-changed",
                (*at, key),
                was,
                now,
                f"{name}: {key} changed (not classified: review it)",
            )

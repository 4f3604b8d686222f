"""Request validation: the spec's schemas compiled into pydantic-core validators.

The live API is FastAPI on pydantic v2 (``shared/docs/freepik-facts.md``), and its 400
lists pydantic's own errors. So each operation's request body schema and query
parameters, as :mod:`mockserver.spec` gives them (JSON Schema Draft 4 plus ``null``
types), are compiled once into a :class:`pydantic_core.SchemaValidator`, and a refusal
is pydantic's verdict in pydantic's words: one :class:`Problem` per failing location, in
the spec's property order. :mod:`mockserver.reasons` renders them per profile.

Readings, where FastAPI's would be laxer than the live API may be (the stricter wins):
body values are strict (``"0.5"`` is not a number, ``true`` not an integer), query
values are strings on the wire and read lax, as FastAPI reads them. In the ``observed``
profile a null on an optional field counts as absent (the live API accepted
``"prompt": null``); in the ``spec`` profile it is refused unless the field is nullable.

Rules across an object's fields that JSON Schema cannot state (the spec's prose: "prompt
or multi_prompt", "at most 4 elements plus reference images") are declared on the object
as the ``x-freepik-mock-rules`` extension (:class:`_FieldRule` says how) and refused as a
pydantic model validator would refuse them.

Validation gives a verdict only: the body a handler gets is the parsed JSON as sent,
with the schema's top-level defaults filled in. Nothing here knows a field by name:
every rule comes from the schemas, and a keyword the compiler does not know is a
:class:`~mockserver.spec.SpecError` at start-up, never a rule silently skipped.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple

import orjson
from pydantic_core import (
    PydanticCustomError,
    PydanticKnownError,
    SchemaError,
    SchemaValidator,
    ValidationError,
)
from pydantic_core import core_schema as cs

from .config import Profile
from .limits import MAX_JSON_DEPTH, too_deep
from .spec import RULES_EXTENSION, Operation, Parameter, SpecError

__all__ = [
    "BodyValidator",
    "OperationValidator",
    "Problem",
    "Profile",
    "RequestInvalid",
    "compile_schema",
]

Loc = tuple[str | int, ...]


class Problem(NamedTuple):
    """One failing location, in pydantic's terms."""

    loc: Loc  # ("body", "cfg_scale"), ("query", "page"), ("body",)
    type: str  # pydantic's error type: "missing", "literal_error", ...
    message: str  # pydantic v2's own msg, exactly
    ctx: Mapping[str, Any]  # pydantic's ctx (max_length, expected, ge, ...)


class RequestInvalid(Exception):
    """A request the spec refuses; ``problems`` says where and why."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            "; ".join(f"{'.'.join(map(str, p.loc))}: {p.message}" for p in self.problems)
        )


# FastAPI's words for a body that is absent or does not parse (fastapi/routing.py).
_FIELD_REQUIRED: Final = "Field required"
_JSON_DECODE_ERROR: Final = "JSON decode error"

# Keywords that only annotate; every other keyword must be one the compiler reads.
_ANNOTATIONS: Final = frozenset(
    {
        "title",
        "description",
        "default",
        "example",
        "examples",
        "$comment",
        "$schema",
        "id",
        "$id",
        "deprecated",
        "readOnly",
        "writeOnly",
        "xml",
        "externalDocs",
        "discriminator",
        "nullable",  # spec.to_json_schema has already turned it into a "null" type
    }
)
# OpenAPI formats that only say how a value of the type is encoded or sized.
_ANNOTATING_FORMATS: Final = frozenset(
    {"byte", "base64", "binary", "float", "double", "int32", "int64", "password"}
)
_TYPE_KEYWORDS: Final = {
    "object": frozenset({"properties", "required", "additionalProperties"}),
    "array": frozenset({"items", "minItems", "maxItems", "uniqueItems"}),
    "string": frozenset({"maxLength", "minLength", "pattern", "format"}),
    "number": frozenset(
        {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
    ),
}
_CHECKED: Final = frozenset(
    {"type", "enum", "const", "allOf", "anyOf", "oneOf"}.union(*_TYPE_KEYWORDS.values())
)


class _Place:
    """How the locations pydantic reports map onto the JSON value: the choice labels of
    a union name a branch of the schema, not a place in the value, and are dropped."""

    __slots__ = ("choices", "extras", "fields", "items")

    def __init__(
        self,
        fields: dict[str, _Place] | None = None,
        extras: _Place | None = None,
        items: _Place | None = None,
        choices: dict[str, _Place] | None = None,
    ) -> None:
        self.fields = fields
        self.extras = extras
        self.items = items
        self.choices = choices

    def locate(self, loc: Iterable[str | int]) -> Loc:
        found: list[str | int] = []
        place: _Place | None = self
        for part in loc:
            if place is not None and place.choices is not None:
                place = place.choices.get(str(part))
                continue
            found.append(part)
            if place is None:
                continue
            if isinstance(part, int):
                place = place.items
            elif place.fields is not None and part in place.fields:
                place = place.fields[part]
            else:
                place = place.extras
        return tuple(found)


_LEAF: Final = _Place()


class _Compiler:
    """Turns one JSON Schema into a core schema and the :class:`_Place` of its values."""

    def __init__(self, *, strict: bool, null_is_absent: bool, where: str) -> None:
        self.strict = strict
        self.null_is_absent = null_is_absent
        self.where = where

    def fail(self, pointer: str, what: str) -> SpecError:
        return SpecError(f"{self.where}#{pointer}: {what}")

    def compile(self, schema: Any, pointer: str = "") -> tuple[cs.CoreSchema, _Place]:
        if schema is True:
            return cs.any_schema(), _LEAF
        if not isinstance(schema, Mapping):
            raise self.fail(pointer, f"a schema must be an object, not {schema!r}")
        self._check_keywords(schema, pointer)
        schema = self._merge_all_of(schema, pointer)
        # An empty anyOf states no rule (upstream's i2v and r2v requests write `anyOf: []`
        # beside their properties, and the live API takes their bodies).
        alternatives = [k for k in ("anyOf", "oneOf") if schema.get(k)]
        if len(alternatives) > 1:
            raise self.fail(pointer, "anyOf and oneOf together are not supported")
        if alternatives:
            return self._alternatives(schema, alternatives[0], pointer)
        return self._single(schema, pointer)

    def _check_keywords(self, schema: Mapping[str, Any], pointer: str) -> None:
        for keyword in schema:
            known = keyword in _CHECKED or keyword in _ANNOTATIONS
            if not known and not str(keyword).startswith("x-"):
                raise self.fail(pointer, f"keyword {keyword!r} is not supported")

    def _merge_all_of(self, schema: Mapping[str, Any], pointer: str) -> Mapping[str, Any]:
        """``allOf`` read as one schema holding every member's rules (pydantic has no
        intersection); members that disagree on a rule are refused."""
        members = schema.get("allOf")
        if members is None:
            return schema
        if not isinstance(members, list):
            raise self.fail(pointer + "/allOf", "allOf must be a list")
        merged: Mapping[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for index, member in enumerate(members):
            where = f"{pointer}/allOf/{index}"
            if not isinstance(member, Mapping):
                raise self.fail(where, "an allOf member must be an object")
            self._check_keywords(member, where)
            merged = self._merge(merged, self._merge_all_of(member, where), where)
        return merged

    def _merge(
        self, first: Mapping[str, Any], second: Mapping[str, Any], pointer: str
    ) -> dict[str, Any]:
        """One schema holding the rules of both (their intersection)."""
        merged = dict(first)
        for keyword, value in second.items():
            if keyword not in merged or keyword in _ANNOTATIONS or merged[keyword] == value:
                merged.setdefault(keyword, value)
            elif keyword == "properties":
                properties = dict(merged[keyword])
                for name, sub in value.items():
                    properties[name] = (
                        {"allOf": [properties[name], sub]} if name in properties else sub
                    )
                merged[keyword] = properties
            elif keyword in ("items", "additionalProperties"):
                merged[keyword] = _both(merged[keyword], value)
            elif keyword == RULES_EXTENSION:
                merged[keyword] = [*merged[keyword], *value]
            elif keyword == "required":
                merged[keyword] = [
                    *merged[keyword],
                    *(n for n in value if n not in merged[keyword]),
                ]
            elif keyword in _TIGHTER and _is_number(merged[keyword]) and _is_number(value):
                merged[keyword] = _TIGHTER[keyword](merged[keyword], value)
            elif keyword in ("enum", "type"):
                merged[keyword] = self._common(keyword, merged[keyword], value, pointer)
            else:
                raise self.fail(pointer, f"allOf members disagree on {keyword!r}")
        return merged

    def _common(self, keyword: str, first: Any, second: Any, pointer: str) -> list[Any]:
        firsts, seconds = _listed(first, keyword), _listed(second, keyword)
        common = [v for v in firsts if v in seconds]
        if not common:
            raise self.fail(pointer, f"allOf members allow no common {keyword!r}")
        return common

    def _alternatives(
        self, schema: Mapping[str, Any], keyword: str, pointer: str
    ) -> tuple[cs.CoreSchema, _Place]:
        # Each alternative also obeys the schema's own rules beside anyOf/oneOf. oneOf's
        # "exactly one" is read as anyOf's "at least one", as a pydantic union reads it.
        base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        choices: list[tuple[cs.CoreSchema, str]] = []
        places: dict[str, _Place] = {}
        for index, member in enumerate(schema[keyword]):
            where = f"{pointer}/{keyword}/{index}"
            if not isinstance(member, Mapping):
                raise self.fail(where, f"a {keyword} member must be an object")
            label = f"{keyword}[{index}]"
            core, place = self.compile(self._merge(base, member, where), where)
            choices.append((core, label))
            places[label] = place
        return _union(choices, places)

    def _single(self, schema: Mapping[str, Any], pointer: str) -> tuple[cs.CoreSchema, _Place]:
        declared = schema.get("type")
        types = declared if isinstance(declared, list) else [declared] if declared else []
        if "enum" in schema or "const" in schema:
            return self._enum(schema, types, pointer)
        if not types:
            types = self._implied_types(schema, pointer)
        nullable = "null" in types
        others = [t for t in types if t != "null"]
        if not others:
            return (cs.none_schema() if nullable else cs.any_schema()), _LEAF
        choices: list[tuple[cs.CoreSchema, str]] = []
        places: dict[str, _Place] = {}
        for kind in others:
            core, places[str(kind)] = self._typed(schema, kind, pointer)
            choices.append((core, str(kind)))
        core, place = _union(choices, places)
        return (cs.nullable_schema(core) if nullable else core), place

    def _implied_types(self, schema: Mapping[str, Any], pointer: str) -> list[str]:
        # A constraint without a type reads as a constraint of that type, as a pydantic
        # field has one type (JSON Schema would let values of other types through).
        implied = [kind for kind, keywords in _TYPE_KEYWORDS.items() if keywords & schema.keys()]
        if len(implied) > 1:
            raise self.fail(
                pointer, f"keywords of several types ({', '.join(implied)}) need a type"
            )
        return implied

    def _enum(
        self, schema: Mapping[str, Any], types: list[Any], pointer: str
    ) -> tuple[cs.CoreSchema, _Place]:
        values = list(schema["enum"]) if "enum" in schema else [schema["const"]]
        nullable = None in values and (not types or "null" in types)
        members = [v for v in values if v is not None]
        if not members:
            return cs.none_schema(), _LEAF
        if not all(isinstance(v, str | int | float | bool) for v in members):
            raise self.fail(pointer + "/enum", "only scalar enum values are supported")
        core: cs.CoreSchema = cs.literal_schema(members)
        if not any(isinstance(v, bool) for v in members) and any(
            isinstance(v, int | float) for v in members
        ):
            core = _refusing_booleans(core)
        return (cs.nullable_schema(core) if nullable else core), _LEAF

    def _typed(
        self, schema: Mapping[str, Any], kind: str, pointer: str
    ) -> tuple[cs.CoreSchema, _Place]:
        strict = self.strict
        if kind == "string":
            return self._string(schema, pointer), _LEAF
        if kind in ("number", "integer"):
            return self._number(schema, kind, pointer), _LEAF
        if kind == "boolean":
            return cs.bool_schema(strict=strict), _LEAF
        if kind == "array":
            return self._array(schema, pointer)
        if kind == "object":
            return self._object(schema, pointer)
        raise self.fail(pointer + "/type", f"type {kind!r} is not supported")

    def _string(self, schema: Mapping[str, Any], pointer: str) -> cs.CoreSchema:
        limits: dict[str, Any] = {
            "max_length": schema.get("maxLength"),
            "min_length": schema.get("minLength"),
        }
        pattern = schema.get("pattern")
        text = self._pattern_checked(limits, pattern, pointer)
        found = schema.get("format")
        if found is None or found in _ANNOTATING_FORMATS:
            return text
        if found == "uri":
            if pattern is None and limits["min_length"] is None:
                return cs.url_schema(max_length=limits["max_length"], strict=self.strict)
            return cs.chain_schema([text, cs.url_schema(strict=self.strict)])
        if found == "uuid":
            return cs.chain_schema([text, cs.uuid_schema()])
        if found == "date":
            return cs.chain_schema([text, cs.date_schema()])
        if found == "date-time":
            return cs.chain_schema([text, cs.datetime_schema()])
        raise self.fail(pointer + "/format", f"format {found!r} is not supported")

    def _pattern_checked(
        self, limits: dict[str, Any], pattern: str | None, pointer: str
    ) -> cs.CoreSchema:
        text = cs.str_schema(pattern=pattern, strict=self.strict, **limits)
        if pattern is None:
            return text
        try:
            SchemaValidator(text)
        except SchemaError:
            # Look-arounds and the like: Python's re reads them, Rust's regex does not.
            text = cs.str_schema(
                pattern=pattern, strict=self.strict, regex_engine="python-re", **limits
            )
            try:
                SchemaValidator(text)
            except SchemaError as exc:
                raise self.fail(pointer + "/pattern", f"pattern {pattern!r}: {exc}") from None
        return text

    def _number(self, schema: Mapping[str, Any], kind: str, pointer: str) -> cs.CoreSchema:
        bounds: dict[str, Any] = {}
        for keyword, inclusive, exclusive in (
            ("minimum", "ge", "gt"),
            ("maximum", "le", "lt"),
        ):
            if keyword in schema:
                flag = schema.get("exclusive" + keyword.capitalize())
                bounds[exclusive if flag is True else inclusive] = schema[keyword]
        for keyword, exclusive in (("exclusiveMinimum", "gt"), ("exclusiveMaximum", "lt")):
            value = schema.get(keyword)
            if not isinstance(value, bool) and isinstance(value, int | float):
                bounds[exclusive] = value  # OpenAPI 3.1 writes the bound itself
        if "multipleOf" in schema:
            bounds["multiple_of"] = schema["multipleOf"]
        if kind == "number":
            return cs.float_schema(strict=self.strict, **bounds)
        for name, value in bounds.items():
            if isinstance(value, float) and not value.is_integer():
                if name == "multiple_of":
                    raise self.fail(pointer, "a fractional multipleOf of an integer")
                bounds[name] = math.floor(value) if name in ("le", "lt") else math.ceil(value)
            bounds[name] = int(bounds[name])
        return cs.int_schema(strict=self.strict, **bounds)

    def _array(self, schema: Mapping[str, Any], pointer: str) -> tuple[cs.CoreSchema, _Place]:
        items = schema.get("items", True)
        if isinstance(items, list):
            raise self.fail(pointer + "/items", "a list of item schemas is not supported")
        item_core, item_place = self.compile(items, pointer + "/items")
        core: cs.CoreSchema = cs.list_schema(
            item_core,
            min_length=schema.get("minItems"),
            max_length=schema.get("maxItems"),
            strict=self.strict,
        )
        if schema.get("uniqueItems") is True:
            core = cs.no_info_before_validator_function(_unique_items, core)
        return core, _Place(items=item_place)

    def _object(self, schema: Mapping[str, Any], pointer: str) -> tuple[cs.CoreSchema, _Place]:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        required = list(schema.get("required") or [])
        fields: dict[str, cs.ModelField] = {}
        places: dict[str, _Place] = {}
        for name, sub in properties.items():
            where = f"{pointer}/properties/{_escape(name)}"
            core, places[name] = self.compile(sub, where)
            if name not in required:
                if self.null_is_absent and not _accepts_null(sub):
                    core = cs.nullable_schema(core)
                core = cs.with_default_schema(core, default=None)
            fields[name] = cs.model_field(core)
        for name in required:
            if name not in fields:
                fields[name] = cs.model_field(cs.any_schema())
                places[name] = _LEAF
        additional = schema.get("additionalProperties", True)
        extras: _Place | None = None
        options: dict[str, Any] = {"extra_behavior": "ignore"}
        if additional is False:
            options = {"extra_behavior": "forbid"}
        elif additional is not True and additional != {}:
            extras_core, extras = self.compile(additional, pointer + "/additionalProperties")
            options = {"extra_behavior": "allow", "extras_schema": extras_core}
        # A model's fields, read as FastAPI reads a body (from_attributes): pydantic's
        # "Input should be a valid dictionary or object to extract fields from".
        core_schema: cs.CoreSchema = cs.model_fields_schema(fields, from_attributes=True, **options)
        rules = schema.get(RULES_EXTENSION)
        if rules is not None:
            where = f"{self.where}#{pointer}/{_escape(RULES_EXTENSION)}"
            if not isinstance(rules, list):
                raise SpecError(f"{where}: a list of rules, please")
            checks = [_FieldRule(rule, set(fields), f"{where}/{i}") for i, rule in enumerate(rules)]
            core_schema = cs.no_info_after_validator_function(_checked_by(checks), core_schema)
        return core_schema, _Place(fields=places, extras=extras)


# Bounds two allOf members both set: the tighter one holds.
_TIGHTER: Final = {
    "minimum": max,
    "maximum": min,
    "minLength": max,
    "maxLength": min,
    "minItems": max,
    "maxItems": min,
}


def _union(
    choices: list[tuple[cs.CoreSchema, str]], places: dict[str, _Place]
) -> tuple[cs.CoreSchema, _Place]:
    """A pydantic union of labelled choices (a single choice stands alone)."""
    if len(choices) == 1:
        return choices[0][0], places[choices[0][1]]
    labelled: list[cs.CoreSchema | tuple[cs.CoreSchema, str]] = list(choices)
    return cs.union_schema(labelled, mode="smart"), _Place(choices=places)


def _listed(value: Any, keyword: str) -> list[Any]:
    values = list(value) if isinstance(value, list) else [value]
    if keyword == "type" and "number" in values and "integer" not in values:
        values.append("integer")  # an integer is a number
    return values


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _both(first: Any, second: Any) -> Any:
    """A schema for what both schemas accept (``false`` accepts nothing)."""
    if first is False or second is False:
        return False
    if first is True or first == {}:
        return second
    if second is True or second == {}:
        return first
    return {"allOf": [first, second]}


class _FieldRule:
    """One rule across an object's fields, from the ``x-freepik-mock-rules`` extension:
    what the spec's prose says and JSON Schema cannot. Either

    - ``given: [a, b]`` with ``min`` and/or ``max``: how many of the fields are given
      (present and not null), or
    - ``items: [a, b]`` with ``max``: how many items the array fields hold in all;

    optionally only ``when_given: [c, d]`` (one of them is given) or ``unless_given``
    (none is), and with a ``message`` of its own. A broken rule is refused as a pydantic
    model validator refuses: ``value_error``, ``Value error, <message>``, at the object.
    """

    KEYS: Final = frozenset(
        {"given", "items", "min", "max", "when_given", "unless_given", "message"}
    )

    def __init__(self, rule: Any, fields: set[str], where: str) -> None:
        if not isinstance(rule, Mapping) or not rule.keys() <= self.KEYS:
            raise SpecError(f"{where}: a rule takes {', '.join(sorted(self.KEYS))}")
        if ("given" in rule) == ("items" in rule):
            raise SpecError(f"{where}: a rule counts either 'given' or 'items' fields")
        self.counts_items = "items" in rule
        self.fields = _names(rule, "items" if self.counts_items else "given", fields, where)
        self.when_given = _names(rule, "when_given", fields, where)
        self.unless_given = _names(rule, "unless_given", fields, where)
        self.min: int | None = rule.get("min")
        self.max: int | None = rule.get("max")
        if self.min is None and self.max is None:
            raise SpecError(f"{where}: a rule needs a min or a max")
        if self.counts_items and self.min is not None:
            raise SpecError(f"{where}: an items rule takes a max only")
        self.message = str(rule.get("message") or self._default_message())

    def _default_message(self) -> str:
        names = ", ".join(self.fields)
        if self.counts_items:
            text = f"{names} may hold at most {self.max} items in all"
        elif self.min == self.max == 1:
            text = f"exactly one of {names} is required"
        elif self.max is None:
            text = f"one of {names} is required" if self.min == 1 else ""
            text = text or f"at least {self.min} of {names} are required"
        elif not self.min:
            text = f"at most {self.max} of {names} may be given"
        else:
            text = f"{self.min} to {self.max} of {names} must be given"
        if self.when_given:
            text += f" when {' or '.join(self.when_given)} is given"
        if self.unless_given:
            text += f" unless {' or '.join(self.unless_given)} is given"
        return text

    def broken(self, values: Mapping[str, Any]) -> bool:
        """Whether an object's validated field ``values`` break the rule."""
        if self.when_given and all(values.get(n) is None for n in self.when_given):
            return False
        if any(values.get(n) is not None for n in self.unless_given):
            return False
        if self.counts_items:
            count = sum(len(values[n]) for n in self.fields if isinstance(values.get(n), list))
        else:
            count = sum(values.get(n) is not None for n in self.fields)
        too_few = self.min is not None and count < self.min
        return too_few or (self.max is not None and count > self.max)


def _names(rule: Mapping[str, Any], key: str, fields: set[str], where: str) -> tuple[str, ...]:
    names = rule.get(key, [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SpecError(f"{where}: {key} must be a list of field names")
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise SpecError(f"{where}: {key} names no property {', '.join(unknown)}")
    return tuple(names)


def _checked_by(rules: list[_FieldRule]) -> Any:
    def check(validated: Any) -> Any:
        values = validated[0]  # model_fields' output: (fields, extras, fields set)
        for rule in rules:
            if rule.broken(values):
                # As a model validator's ValueError: pydantic words it "Value error, ...".
                raise ValueError(rule.message)
        return validated

    return check


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _accepts_null(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return schema is True
    declared = schema.get("type")
    if declared == "null" or (isinstance(declared, list) and "null" in declared):
        return True
    return None in (schema.get("enum") or ())


def _refusing_booleans(literal: cs.CoreSchema) -> cs.CoreSchema:
    """A numeric enum that refuses ``true``: pydantic's Literal[1] takes True (1 == True
    in Python), JSON Schema's enum does not. Refused with pydantic's own literal_error."""
    try:
        SchemaValidator(literal).validate_python(object())
        expected = ""
    except ValidationError as exc:
        expected = str(exc.errors()[0].get("ctx", {}).get("expected", ""))

    def refuse_booleans(value: Any) -> Any:
        if isinstance(value, bool):
            raise PydanticKnownError("literal_error", {"expected": expected})
        return value

    return cs.no_info_before_validator_function(refuse_booleans, literal)


def _unique_items(value: Any) -> Any:
    # pydantic v2 has no rule (nor wording) for uniqueItems; this follows its style.
    if isinstance(value, list) and len(value) > 1:
        seen: set[bytes] = set()
        for item in value:
            key = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
            if key in seen:
                raise PydanticCustomError("list_unique_items", "List should have unique items")
            seen.add(key)
    return value


def compile_schema(
    schema: Any, *, strict: bool = True, null_is_absent: bool = False, where: str = "schema"
) -> SchemaValidator:
    """A validator for one JSON Schema (``where`` names it in a :class:`SpecError`)."""
    core, _ = _Compiler(strict=strict, null_is_absent=null_is_absent, where=where).compile(schema)
    return SchemaValidator(core)


class BodyValidator:
    """Reads and checks one JSON request body against one JSON Schema."""

    def __init__(
        self,
        schema: Mapping[str, Any] | None,
        *,
        required: bool = False,
        profile: Profile = "observed",
        where: str = "request body",
    ) -> None:
        self.schema = schema
        self.required = required
        self.profile = profile
        self._validator: SchemaValidator | None = None
        self._place = _LEAF
        self._defaults: dict[str, Any] = {}
        self._mutable_defaults = False
        self._null_as_absent: frozenset[str] = frozenset()
        if schema is None:
            return
        observed = profile == "observed"
        compiler = _Compiler(strict=True, null_is_absent=observed, where=where)
        core, self._place = compiler.compile(schema)
        self._validator = SchemaValidator(core)
        properties: Mapping[str, Any] = schema.get("properties") or {}
        required_names = set(schema.get("required") or ())
        for name, sub in properties.items():
            if isinstance(sub, Mapping) and "default" in sub:
                self._defaults[name] = sub["default"]
        self._mutable_defaults = any(isinstance(v, dict | list) for v in self._defaults.values())
        if observed:
            self._null_as_absent = frozenset(
                name
                for name, sub in properties.items()
                if name not in required_names and not _accepts_null(sub)
            )

    def body(self, raw: bytes) -> dict[str, Any]:
        """The parsed body with the schema's top-level defaults; raises RequestInvalid."""
        value = _parse_json(raw) if raw else None
        if value is None:
            # FastAPI reads an empty body and a JSON null alike: no body at all. Where
            # one may be left out it stands for {}, which must then meet the schema.
            if self.required:
                raise RequestInvalid([Problem(("body",), "missing", _FIELD_REQUIRED, {})])
            value = {}
        if self._validator is not None:
            try:
                self._validator.validate_python(value)
            except ValidationError as exc:
                raise RequestInvalid(self._problems(exc)) from None
        if not isinstance(value, dict):
            # Only a schema that allows other values gets here; the handler needs fields.
            raise RequestInvalid([_not_an_object(value)])
        if self._null_as_absent and None in value.values():
            absent = self._null_as_absent
            value = {k: v for k, v in value.items() if v is not None or k not in absent}
        return self._with_defaults(value)

    def _with_defaults(self, value: dict[str, Any]) -> dict[str, Any]:
        if not self._defaults:
            return value
        defaults = copy.deepcopy(self._defaults) if self._mutable_defaults else self._defaults
        return {**defaults, **value}

    def _problems(self, exc: ValidationError) -> list[Problem]:
        return _problems(exc, "body", self._place)


def _problems(exc: ValidationError, source: str, place: _Place) -> list[Problem]:
    """One problem per failing location, the first pydantic gives for it, in its order."""
    found: dict[Loc, Problem] = {}
    for error in exc.errors(include_url=False, include_input=False):
        loc = (source, *place.locate(error["loc"]))
        if loc not in found:
            # A validator's own exception stands in ctx; JSON has its text, as here.
            ctx = {
                key: str(value) if isinstance(value, BaseException) else value
                for key, value in (error.get("ctx") or {}).items()
            }
            found[loc] = Problem(loc, error["type"], error["msg"], ctx)
    return list(found.values())


def _not_an_object(value: Any) -> Problem:
    try:
        SchemaValidator(cs.model_fields_schema({}, from_attributes=True)).validate_python(value)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        return Problem(("body",), error["type"], error["msg"], error.get("ctx") or {})
    raise AssertionError("only a non-object gets here")  # pragma: no cover


def _parse_json(raw: bytes) -> Any:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestInvalid([_json_problem(raw, exc)]) from None
    # Nesting needs an opening bracket per level: most bodies have too few to check.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and too_deep(value):
        raise RequestInvalid([_too_deep_problem(raw.decode("utf-8"))])
    return value


def _json_invalid(position: int, error: str) -> Problem:
    # As FastAPI reports a body json.loads refuses: the position is a character's.
    return Problem(("body", position), "json_invalid", _JSON_DECODE_ERROR, {"error": error})


def _json_problem(raw: bytes, refusal: orjson.JSONDecodeError) -> Problem:
    """Where and why ``raw`` is not JSON, in the words of Python's json (FastAPI's)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        error = f"Invalid UTF-8 byte 0x{raw[exc.start]:02x} at line {line} column {column}"
        return _json_invalid(len(raw[: exc.start].decode("utf-8", "replace")), error)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return _json_invalid(exc.pos, exc.msg)
    except RecursionError:
        return _too_deep_problem(text)
    except ValueError:  # an integer too long for int() (sys.get_int_max_str_digits)
        pass
    # What Python's json reads and orjson does not: NaN, Infinity, numbers beyond a
    # double, lone surrogates. Not JSON (RFC 8259), or not what a client can rely on.
    return _json_invalid(refusal.pos, refusal.msg)


def _too_deep_problem(text: str) -> Problem:
    return _json_invalid(
        _depth_exceeded_at(text, MAX_JSON_DEPTH), f"Nested deeper than {MAX_JSON_DEPTH} levels"
    )


def _depth_exceeded_at(text: str, limit: int) -> int:
    """The position of the first bracket that opens a level deeper than ``limit``."""
    depth = 0
    in_string = escaped = False
    for position, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return position
        elif char in "]}":
            depth -= 1
    return 0


class _DeclaredParameter(NamedTuple):
    name: str
    is_list: bool
    has_default: bool
    default: Any


# Header parameters OpenAPI 3.0 says to ignore (the request's media types and credentials
# are described elsewhere in the spec).
_IGNORED_HEADERS: Final = frozenset({"accept", "content-type", "authorization"})


class _Parameters:
    """The compiled check of one operation's parameters in one location (query or
    header): read lax, as FastAPI reads strings off the wire, by their spec names."""

    def __init__(self, params: Iterable[Parameter], location: str, where: str) -> None:
        self.location = location
        self.params: list[_DeclaredParameter] = []
        self.validator: SchemaValidator | None = None
        self.place = _LEAF
        fields: dict[str, cs.ModelField] = {}
        places: dict[str, _Place] = {}
        for param in params:
            compiler = _Compiler(
                strict=False, null_is_absent=False, where=f"{where} {location} {param.name}"
            )
            core, places[param.name] = compiler.compile(param.schema)
            if not param.required:
                core = cs.with_default_schema(core, default=None)
            fields[param.name] = cs.model_field(core)
            self.params.append(
                _DeclaredParameter(
                    param.name,
                    _is_list(param.schema),
                    "default" in param.schema,
                    param.schema.get("default"),
                )
            )
        if fields:
            self.validator = SchemaValidator(cs.model_fields_schema(fields))
            self.place = _Place(fields=places)

    def check(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The validated fields; raises RequestInvalid."""
        assert self.validator is not None
        try:
            fields, _, _ = self.validator.validate_python(given)
        except ValidationError as exc:
            raise RequestInvalid(_problems(exc, self.location, self.place)) from None
        checked: dict[str, Any] = fields
        return checked


class OperationValidator:
    """Compiled checks for one operation's request body, query and header parameters."""

    def __init__(self, operation: Operation, profile: Profile = "observed") -> None:
        self.operation = operation
        self.profile = profile
        where = f"{operation.source.name}: {operation.method.upper()} {operation.path}"
        self._body = BodyValidator(
            operation.request_schema,
            required=operation.request_body_required,
            profile=profile,
            where=f"{where} request body",
        )
        self._query = _Parameters(
            (p for p in operation.parameters if p.location == "query"), "query", where
        )
        # The API key header is the authentication's to check (a 401, not a 400).
        skipped = {*_IGNORED_HEADERS, (operation.auth_header or "").lower()}
        self._headers = _Parameters(
            (
                p
                for p in operation.parameters
                if p.location == "header" and p.name.lower() not in skipped
            ),
            "header",
            where,
        )
        self._where = where
        # Compiled on first use: only operations answered synchronously check them (a
        # task's id is looked up, and an unknown one is a 404).
        self._path: tuple[SchemaValidator, _Place] | None = None

    def path(self, values: Mapping[str, str]) -> None:
        """Check the path parameters (as sent, read lax as FastAPI reads them, by their
        spec names); raises RequestInvalid."""
        if self._path is None:
            fields: dict[str, cs.ModelField] = {}
            places: dict[str, _Place] = {}
            for param in self.operation.parameters:
                if param.location == "path":
                    compiler = _Compiler(
                        strict=False, null_is_absent=False, where=f"{self._where} path {param.name}"
                    )
                    core, places[param.name] = compiler.compile(param.schema)
                    fields[param.name] = cs.model_field(core)
            self._path = SchemaValidator(cs.model_fields_schema(fields)), _Place(fields=places)
        validator, place = self._path
        try:
            validator.validate_python(dict(values))
        except ValidationError as exc:
            raise RequestInvalid(_problems(exc, "path", place)) from None

    @property
    def has_body_schema(self) -> bool:
        return self.operation.request_schema is not None

    @property
    def has_headers(self) -> bool:
        """Whether the operation declares header parameters to check."""
        return self._headers.validator is not None

    def body(self, raw: bytes) -> dict[str, Any]:
        """Parse JSON, validate, fill top-level defaults; raises RequestInvalid."""
        return self._body.body(raw)

    def headers(self, headers: Mapping[str, str]) -> None:
        """Check the header parameters the spec declares (names read case-insensitively,
        a list as comma-separated values), but the API key's; raises RequestInvalid."""
        if self._headers.validator is None:
            return
        sent = {name.lower(): value for name, value in headers.items()}
        given: dict[str, Any] = {}
        for param in self._headers.params:
            value = sent.get(param.name.lower())
            if value is not None:
                given[param.name] = (
                    [v.strip() for v in value.split(",")] if param.is_list else value
                )
        self._headers.check(given)

    def query(self, query: Mapping[str, str]) -> dict[str, Any]:
        """The query parameters the spec declares, read as their types, with their
        defaults; raises RequestInvalid."""
        if self._query.validator is None:
            return {}
        given = {
            p.name: [query[p.name]] if p.is_list else query[p.name]
            for p in self._query.params
            if p.name in query
        }
        fields = self._query.check(given)
        values: dict[str, Any] = {}
        for param in self._query.params:
            if param.name in given:
                values[param.name] = _plain(fields[param.name], given[param.name])
            elif param.has_default:
                values[param.name] = copy.deepcopy(param.default)
        return values


def _is_list(schema: Mapping[str, Any]) -> bool:
    declared = schema.get("type")
    return declared == "array" or (isinstance(declared, list) and "array" in declared)


def _plain(value: Any, given: Any) -> Any:
    """A validated query value as JSON would hold it: pydantic's number or boolean, or
    the string as sent where pydantic made an object of it (a URL, a UUID, a date)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list) and isinstance(given, Sequence):
        return [_plain(v, g) for v, g in zip(value, given, strict=False)]
    return given

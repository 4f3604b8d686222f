"""What a server is expected to answer, per profile: the live API as recorded, or the spec.

- ``observed`` (the default) expects what the live API was recorded answering (the facts
  file, "What the live API answered"): the 400 envelope ``{"message": "Validation error",
  "invalid_params": [{"field": "body.<name>", "reason": <pydantic v2 msg>}]}`` with one
  item per failing field and pydantic's wording where a check can know it, the wrong-key
  401 byte for byte, null on an optional field taken as absent, ``x-request-id`` and the
  no-cache headers on every answer, the create answer's keys as ``task_id, status,
  generated``. What was never observed (the missing-key 401) keeps the documented reading.
- ``spec`` expects the spec's examples: its 401 examples, its ``application/problem+json``
  400 example's message and item keys (``name``), null refused unless nullable.

Against the real API the ``observed`` profile is the one that must pass. Every rule
here comes from the spec (which operation, which field, which limits) or from a recorded
answer; none names a request field or an operation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from mockserver.spec import Operation, Parameter

from . import checks
from .exchange import Auth, Exchange
from .mutations import Mutation
from .outcome import PROFILES, ProfileName
from .strategies import merged_schema, types_of

__all__ = [
    "OBSERVED_HEADERS",
    "OBSERVED_INVALID_KEY_BODY",
    "OBSERVED_VALIDATION_MESSAGE",
    "PROFILES",
    "Broken",
    "Profile",
    "ProfileName",
    "broken_in_body",
    "broken_in_query",
    "profile_named",
]

# The wrong-key 401 as five recordings of the live API have it, every endpoint alike
# (facts file, "What the live API answered"): 220 bytes, the trailing newline included.
OBSERVED_INVALID_KEY_BODY: Final = (
    b'{"message":"Unauthorized: The provided API key is invalid. Please verify your API key '
    b"at https://www.freepik.com/developers/dashboard/api-key. If you need a new key, you "
    b'can request one at https://www.freepik.com/api."}\n'
)
OBSERVED_VALIDATION_MESSAGE: Final = "Validation error"
# Headers every recorded answer carries, with their recorded values (None: any value).
OBSERVED_HEADERS: Final[dict[str, str | None]] = {
    "cache-control": "max-age=0, no-cache, no-store",
    "pragma": "no-cache",
    "expires": None,
}
_REQUEST_ID: Final = re.compile(r"ak-[0-9a-f]{32}")
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The create answer's keys in the order the live API sends them (93 bytes in all).
_CREATED_KEYS: Final = ("task_id", "status", "generated")

# pydantic v2's words for a value of the wrong type, by the JSON type the field takes; a
# lax reading appends to them (", unable to parse string as a number"), hence prefixes.
_TYPE_WORDS: Final = {
    "string": "Input should be a valid string",
    "boolean": "Input should be a valid boolean",
    "integer": "Input should be a valid integer",
    "number": "Input should be a valid number",
    "array": "Input should be a valid list",
    "object": "Input should be a valid dictionary",
}
_FIELD_REQUIRED: Final = "Field required"
_NOT_AN_OBJECT: Final = "Input should be a valid dictionary or object to extract fields from"


class Broken(NamedTuple):
    """One thing a request broke on purpose: where (``body.cfg_scale``), how, with what."""

    location: str  # "body.cfg_scale", "query.page", "body" (the body as a whole)
    mutation: Mutation
    schema: Mapping[str, Any] | None  # the field's schema; None for the body as a whole
    value: Any  # the value sent (for a missing field: nothing, None)


def broken_in_body(
    schema: Mapping[str, Any], body: Any, mutations: Sequence[Mutation]
) -> list[Broken]:
    properties: Mapping[str, Any] = merged_schema(schema).get("properties") or {}
    out = []
    for mutation in mutations:
        if mutation.field is None:
            out.append(Broken("body", mutation, None, body))
        else:
            value = body.get(mutation.field) if isinstance(body, Mapping) else None
            out.append(
                Broken(f"body.{mutation.field}", mutation, properties.get(mutation.field), value)
            )
    return out


def broken_in_query(
    parameters: Sequence[Parameter], query: Mapping[str, str], mutation: Mutation
) -> list[Broken]:
    schema = next((p.schema for p in parameters if p.name == mutation.field), None)
    return [Broken(f"query.{mutation.field}", mutation, schema, query.get(str(mutation.field)))]


def _bounds(value: Any) -> set[str]:
    """How pydantic may print a bound: as the spec writes it, or as a float or an int."""
    forms = {str(value)}
    if isinstance(value, int | float) and not isinstance(value, bool):
        forms.add(str(float(value)))
        if float(value).is_integer():
            forms.add(str(int(value)))
    return forms


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _range_words(schema: Mapping[str, Any], value: Any) -> tuple[str, set[str]] | None:
    number = _number(value)
    if number is None:
        return None
    high, low = schema.get("maximum"), schema.get("minimum")
    if high is not None and (number > high or (schema.get("exclusiveMaximum") and number >= high)):
        words = "less than" if schema.get("exclusiveMaximum") else "less than or equal to"
        return f"Input should be {words}", _bounds(high)
    if low is not None and (number < low or (schema.get("exclusiveMinimum") and number <= low)):
        words = "greater than" if schema.get("exclusiveMinimum") else "greater than or equal to"
        return f"Input should be {words}", _bounds(low)
    return None


def reason_problems(broken: Broken, reason: str) -> list[str]:
    """Whether ``reason`` is pydantic v2's wording for what was broken, where that wording
    can be known; nothing is said where it cannot (a URI's wording depends on whether the
    server types the field as a URL; a bound may print as 2 or 2.0)."""
    kind, schema, value = broken.mutation.kind, broken.schema or {}, broken.value
    where = broken.location
    if kind == "missing_required" or (kind == "non_object_body" and value is None):
        if reason != _FIELD_REQUIRED:
            return [f"{where}: the reason should be pydantic's {_FIELD_REQUIRED!r}, not {reason!r}"]
        return []
    if kind == "non_object_body":
        if reason != _NOT_AN_OBJECT:
            return [f"{where}: the reason should be pydantic's {_NOT_AN_OBJECT!r}, not {reason!r}"]
        return []
    if kind == "over_max_length":
        limit = int(schema["maxLength"])
        expected = f"String should have at most {limit} character{'' if limit == 1 else 's'}"
        if reason != expected:
            return [f"{where}: the reason should be pydantic's {expected!r}, not {reason!r}"]
        return []
    if kind == "outside_enum" or (kind == "wrong_type" and "enum" in schema):
        # As pydantic prints them: Python's repr (a value holding ' in double quotes).
        # null is the nullable wrapper's, not the literal's: pydantic leaves it out.
        listed = [
            repr(v) if isinstance(v, str) else json.dumps(v)
            for v in schema["enum"]
            if v is not None
        ]
        if not reason.startswith("Input should be ") or not all(v in reason for v in listed):
            return [
                f"{where}: the reason should be pydantic's literal_error listing "
                f"{', '.join(listed)} ('Input should be ...'), not {reason!r}"
            ]
        return []
    if kind == "wrong_type" and "format" not in schema:
        kinds = [k for k in types_of(schema) if k != "null"]
        words = _TYPE_WORDS.get(kinds[0]) if len(kinds) == 1 else None
        if words is not None and not reason.startswith(words):
            return [f"{where}: the reason should be pydantic's {words!r}, not {reason!r}"]
        return []
    if kind == "out_of_range":
        found = _range_words(schema, value)
        if found is not None:
            words, bounds = found
            if reason not in {f"{words} {bound}" for bound in bounds}:
                return [
                    f"{where}: the reason should be pydantic's {words!r} and the bound "
                    f"{sorted(bounds)[0]}, not {reason!r}"
                ]
    return []


def _items(exchange: Exchange) -> list[Any] | None:
    body = exchange.response_body if exchange.json_ok else None
    items = body.get("invalid_params") if isinstance(body, Mapping) else None
    return items if isinstance(items, list) else None


@dataclass(frozen=True)
class Profile:
    """The expectations of one profile, as problems found in an answer (empty: as expected)."""

    name: ProfileName

    @property
    def null_is_absent(self) -> bool:
        """Whether null on an optional field counts as absent (observed: it was accepted)."""
        return self.name == "observed"

    def answer(self, operation: Operation, exchange: Exchange) -> list[str]:
        """Every answer: a documented status and body; under observed, the live headers."""
        problems = checks.check_answer(operation, exchange)
        if self.name == "observed":
            problems += self.header_problems(exchange)
        return problems

    def not_found(self, operation: Operation, exchange: Exchange) -> list[str]:
        """A read's answer for a task it should not find (``checks.check_not_found``)."""
        problems = checks.check_not_found(operation, exchange)
        if self.name == "observed":
            problems += self.header_problems(exchange)
        return problems

    @staticmethod
    def header_problems(exchange: Exchange) -> list[str]:
        headers = exchange.response_headers
        problems = []
        request_id = headers.get("x-request-id")
        if request_id is None or not _REQUEST_ID.fullmatch(request_id):
            problems.append(
                f"x-request-id should be 'ak-' and 32 lowercase hex digits, as the live API "
                f"sends on every answer; got {request_id!r}"
            )
        for name, value in OBSERVED_HEADERS.items():
            got = headers.get(name)
            if got is None or not got.strip() or (value is not None and got != value):
                wanted = repr(value) if value is not None else "a value"
                problems.append(f"{name} should be {wanted}, as the live API sends; got {got!r}")
        return problems

    def refused_key(self, examples: Mapping[str, Any], exchange: Exchange, auth: Auth) -> list[str]:
        """A 401 for a missing (``none``) or ``wrong`` key."""
        if auth == "wrong" and self.name == "observed":
            if exchange.response_raw == OBSERVED_INVALID_KEY_BODY:
                return []
            return [
                "the wrong-key 401 should be the live API's 220-byte answer byte for byte "
                f"(trailing newline included): {OBSERVED_INVALID_KEY_BODY!r}; got "
                f"{exchange.response_raw[:300]!r}"
            ]
        # A missing key was never observed: the documented example is all there is.
        word = "missing" if auth == "none" else "invalid"
        return checks.matches_documented_example(
            examples, exchange, checks.example_named(examples, word)
        )

    def refusal(
        self, examples: Mapping[str, Any], exchange: Exchange, broken: Sequence[Broken]
    ) -> list[str]:
        """A 400 for a request broken as ``broken`` says (the status is checked apart)."""
        if self.name == "observed":
            return self._observed_refusal(exchange, broken)
        return self._spec_refusal(examples, exchange, broken)

    def _observed_refusal(self, exchange: Exchange, broken: Sequence[Broken]) -> list[str]:
        body = exchange.response_body if exchange.json_ok else None
        message = body.get("message") if isinstance(body, Mapping) else None
        problems = []
        if message != OBSERVED_VALIDATION_MESSAGE:
            problems.append(
                f"the 400's message should be {OBSERVED_VALIDATION_MESSAGE!r}, as the live "
                f"API's, not {message!r}"
            )
        items = _items(exchange)
        if items is None:
            return [*problems, "the 400 has no invalid_params list"]
        reasons: dict[str, str] = {}
        for item in items:
            if (
                not isinstance(item, Mapping)
                or set(item) != {"field", "reason"}
                or not isinstance(item["field"], str)
                or not isinstance(item["reason"], str)
                or not item["reason"].strip()
            ):
                problems.append(
                    "each invalid_params item should be {field: <location>, reason: <text>} "
                    f"as the live API's; got {item!r}"
                )
                continue
            if item["field"] in reasons:
                problems.append(f"{item['field']!r} is named twice: one item per failing field")
            reasons[item["field"]] = item["reason"]
        wanted = {b.location for b in broken}
        missing = sorted(wanted - set(reasons))
        extra = sorted(set(reasons) - wanted)
        if missing:
            problems.append(
                f"the 400 does not name {', '.join(repr(f) for f in missing)} in "
                f"invalid_params (it names {sorted(reasons) or 'nothing'})"
            )
        if extra:
            problems.append(f"the 400 names {extra}, which were not broken")
        for item in broken:
            if item.location in reasons:
                problems += reason_problems(item, reasons[item.location])
        return problems

    @staticmethod
    def _spec_refusal(
        examples: Mapping[str, Any], exchange: Exchange, broken: Sequence[Broken]
    ) -> list[str]:
        fields = [b.mutation.field for b in broken if b.mutation.field is not None]
        problems = checks.names_fields(exchange, fields)
        # The spec's example of a 400 listing invalid_params: its message and item keys.
        documented = next(
            (
                value
                for value in examples.values()
                if isinstance(value, Mapping) and isinstance(value.get("invalid_params"), list)
            ),
            None,
        )
        body = exchange.response_body if exchange.json_ok else None
        if documented is None or not isinstance(body, Mapping):
            return problems
        if body.get("message") != documented.get("message"):
            problems.append(
                f"the 400's message should be the spec example's {documented.get('message')!r}"
                f", not {body.get('message')!r}"
            )
        keys = {key for item in documented["invalid_params"] for key in item}
        for item in _items(exchange) or []:
            if not isinstance(item, Mapping) or set(item) != keys:
                problems.append(f"invalid_params items should have the example's keys {keys}")
                break
        return problems

    def created(self, exchange: Exchange) -> list[str]:
        """A create's 200: under observed, the live answer byte for byte, keys in order."""
        if self.name != "observed" or exchange.status != 200:
            return []
        body = exchange.response_body if exchange.json_ok else None
        data = body.get("data") if isinstance(body, Mapping) else None
        task_id = data.get("task_id") if isinstance(data, Mapping) else None
        if not isinstance(task_id, str) or not _UUID.fullmatch(task_id):
            return [f"the create answer's data.task_id should be a UUID; got {task_id!r}"]
        expected = {"data": {"task_id": task_id, "status": "CREATED", "generated": []}}
        raw = json.dumps(expected, separators=(",", ":")).encode()
        if exchange.response_raw == raw:
            return []
        return [
            f"the create answer should be the live API's, byte for byte, keys as "
            f"{', '.join(_CREATED_KEYS)}: {raw.decode()}; got {exchange.response_raw[:300]!r}"
        ]


def profile_named(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: use {' or '.join(PROFILES)}")
    return Profile(name)

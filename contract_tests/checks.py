"""The checks, as pure functions: an exchange in, a list of problems out (empty: it passed).

Each check reads the spec only: which statuses an operation documents, the schema of
each documented body, the documented examples. None knows the fake.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft4Validator, FormatChecker

from mockserver.spec import Operation

from .exchange import Exchange

__all__ = [
    "body_matches_schema",
    "check_answer",
    "check_not_found",
    "documented_status",
    "example_named",
    "fields_named",
    "invalid_params_name",
    "matches_documented_example",
    "names_fields",
]


def documented_status(operation: Operation, status: int) -> str | None:
    """The spec's key for ``status`` (``"200"``, ``"4XX"``, ``"default"``), or None."""
    code = str(status)
    for key in (code, f"{code[0]}XX", f"{code[0]}xx", "default"):
        if key in operation.responses:
            return key
    return None


@cache
def _validator(schema_json: str) -> Draft4Validator:
    return Draft4Validator(json.loads(schema_json), format_checker=FormatChecker())


def _schema_problems(schema: Mapping[str, Any], body: Any) -> list[str]:
    validator = _validator(json.dumps(schema, sort_keys=True))
    problems = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.path))):
        where = "/".join(map(str, error.absolute_path)) or "(root)"
        problems.append(f"body at {where}: {error.message}")
    return problems[:5]


def body_matches_schema(operation: Operation, exchange: Exchange) -> list[str]:
    """The body must be of a documented media type for its status and match its schema."""
    key = documented_status(operation, exchange.status)
    if key is None:
        return []  # documented_status reports that
    media = operation.responses[key]
    if not media:
        return []  # nothing documented about the body
    documented = {m.lower(): schema for m, schema in media.items()}
    if exchange.media_type not in documented:
        return [
            f"content type {exchange.content_type or '(none)'!r} is not documented for "
            f"{exchange.status}; the spec has {', '.join(sorted(documented))}"
        ]
    schema = documented[exchange.media_type]
    if exchange.media_type.endswith("json") and not exchange.json_ok:
        return [f"the body is not JSON although the content type is {exchange.content_type}"]
    if schema is None:
        return []
    return _schema_problems(schema, exchange.response_body)


def check_answer(operation: Operation, exchange: Exchange) -> list[str]:
    """Every answer: a documented status, and a body its documentation allows."""
    if documented_status(operation, exchange.status) is None:
        documented = ", ".join(sorted(operation.responses))
        return [f"status {exchange.status} is not documented (the spec has {documented})"]
    return body_matches_schema(operation, exchange)


def check_not_found(operation: Operation, exchange: Exchange) -> list[str]:
    """A read's answer for a task it does not find: as documented where the read
    documents a 404; else the API's 404 as documented elsewhere in it, ``{"message":
    ...}`` (most reads of the whole upstream API leave the 404 out)."""
    if exchange.status != 404 or documented_status(operation, 404) is not None:
        return check_answer(operation, exchange)
    body = exchange.response_body if exchange.json_ok else None
    if not isinstance(body, Mapping) or not isinstance(body.get("message"), str):
        return [f"a 404 the spec leaves out should be the API's {{'message': ...}}, got {body!r}"]
    return []


def invalid_params_name(item: Any) -> str | None:
    """The field an ``invalid_params`` item names: ``field`` (the API's location path,
    ``body.cfg_scale``) or ``name`` (the spec's ``cfg_scale``)."""
    if isinstance(item, Mapping):
        if isinstance(item.get("field"), str):
            source, _, name = str(item["field"]).partition(".")
            return name if source in ("body", "query") and name else str(item["field"])
        if isinstance(item.get("name"), str):
            return str(item["name"])
    return None


def fields_named(exchange: Exchange) -> set[str]:
    """Every field the 400 body names in ``invalid_params`` (flat or under ``problem``)."""
    body = exchange.response_body if exchange.json_ok else None
    if isinstance(body, Mapping) and isinstance(body.get("problem"), Mapping):
        body = body["problem"]
    items = body.get("invalid_params") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        return set()
    return {name for item in items if (name := invalid_params_name(item)) is not None}


def names_fields(exchange: Exchange, fields: Iterable[str]) -> list[str]:
    """A 400 must name each field that was broken."""
    named = fields_named(exchange)
    missing = sorted(set(fields) - named)
    if not missing:
        return []
    return [
        f"the 400 does not name {', '.join(repr(f) for f in missing)} in invalid_params "
        f"(it names {sorted(named) or 'nothing'})"
    ]


def matches_documented_example(
    examples: Mapping[str, Any], exchange: Exchange, expected: str | None = None
) -> list[str]:
    """The body must be one of the documented examples (``expected``: the one by name)."""
    if not examples:
        return []
    body = exchange.response_body if exchange.json_ok else None
    if expected is not None and expected in examples:
        if body == examples[expected]:
            return []
        return [f"the body should be the documented example {expected!r}: {examples[expected]}"]
    if any(body == value for value in examples.values()):
        return []
    return [f"the body is none of the documented examples {list(examples.values())}"]


def example_named(examples: Mapping[str, Any], word: str) -> str | None:
    """The name of the documented example whose name contains ``word`` (``missing_api_key``)."""
    return next((name for name in examples if word in name.lower()), None)

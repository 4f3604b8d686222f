"""Request validation compiled from the spec.

Validators are compiled once per operation at start-up (a compiled Draft 4 validator
costs tens of microseconds a call; ``jsonschema.validate`` re-checks the schema every
time). Nothing here knows a field by name: every rule comes from the schemas that
:mod:`mockserver.spec` extracted, and every failure is reported as an
:class:`InvalidParam` naming the field the schema located it at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from .fastpath import compile_acceptor
from .spec import Operation, Parameter

__all__ = ["BODY_FIELD", "InvalidParam", "OperationValidator", "format_checker"]

# The name an invalid_params entry carries when the body as a whole is wrong.
BODY_FIELD = "body"

_INTEGER = re.compile(r"^[-+]?[0-9]+$")
_NUMBER = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class InvalidParam:
    """One failing field and a sentence saying why, in the API's wording style."""

    field: str
    reason: str


def format_checker() -> FormatChecker:
    """Draft 4's format checker, refusing to run without a real ``uri`` check.

    jsonschema silently skips ``format: uri`` unless rfc3986-validator is installed
    (its ``format-nongpl`` extra); a fake that accepts ``"not a uri"`` would lie.
    """
    checker: FormatChecker = Draft4Validator.FORMAT_CHECKER
    if "uri" not in checker.checkers or checker.conforms("not a uri", "uri"):
        raise RuntimeError(
            "jsonschema cannot check format 'uri': install jsonschema[format-nongpl]"
        )
    return checker


def _quote(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)


_JSON_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _reason(name: str, error: ValidationError) -> str:
    """A sentence like the spec's own examples ("Parameter 'page' must be greater than 0")."""
    keyword = str(error.validator)
    expected: Any = error.validator_value
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    subject = "Request body" if name == BODY_FIELD else f"Parameter '{name}'"
    if keyword == "required":
        return f"{subject} is required"
    if keyword == "type":
        names = expected if isinstance(expected, list) else [expected]
        kinds = " or ".join(_JSON_TYPE_NAMES.get(str(n), str(n)) for n in names)
        return f"{subject} must be {'a JSON object' if kinds == 'an object' else kinds}"
    if keyword == "enum":
        return f"{subject} must be one of: " + ", ".join(_quote(v) for v in expected)
    if keyword == "maxLength":
        return f"{subject} must be at most {expected} characters long"
    if keyword == "minLength":
        return f"{subject} must be at least {expected} characters long"
    if keyword == "maximum":
        exclusive = bool(schema.get("exclusiveMaximum"))
        return f"{subject} must be {'less than' if exclusive else 'at most'} {expected}"
    if keyword == "minimum":
        exclusive = bool(schema.get("exclusiveMinimum"))
        return f"{subject} must be {'greater than' if exclusive else 'at least'} {expected}"
    if keyword == "format":
        return f"{subject} must be a valid {expected}"
    if keyword == "pattern":
        return f"{subject} must match the pattern {expected}"
    if keyword == "maxItems":
        return f"{subject} must have at most {expected} items"
    if keyword == "minItems":
        return f"{subject} must have at least {expected} items"
    if keyword == "additionalProperties":
        return f"{subject} is not allowed"
    return f"{subject} is not valid"


def _errors_to_params(errors: Iterable[ValidationError], root_name: str) -> list[InvalidParam]:
    """One entry per failing field, in the order the fields fail.

    A wrong type is the reason given when a field also fails other rules: "must be a
    string" says more than "must be one of" about a number sent for a string enum.
    """
    found: dict[str, InvalidParam] = {}
    typed: set[str] = set()
    for error in errors:
        if error.validator == "required" and not error.absolute_path:
            instance = error.instance if isinstance(error.instance, Mapping) else {}
            required: Any = error.validator_value
            for missing in required:
                if missing not in instance and missing not in found:
                    found[missing] = InvalidParam(missing, _reason(missing, error))
            continue
        path = [str(part) for part in error.absolute_path]
        name = ".".join(path) if path else root_name
        if name not in found or (error.validator == "type" and name not in typed):
            found[name] = InvalidParam(name, _reason(name, error))
            if error.validator == "type":
                typed.add(name)
    return list(found.values())


class OperationValidator:
    """Compiled checks for one operation's body and query parameters."""

    def __init__(self, operation: Operation, checker: FormatChecker | None = None) -> None:
        checker = checker or format_checker()
        self.operation = operation
        schema = operation.request_schema
        self._body: Draft4Validator | None = (
            Draft4Validator(schema, format_checker=checker) if schema is not None else None
        )
        # A compiled yes/no check in front of jsonschema for valid bodies (fastpath.py).
        self._body_accepts = compile_acceptor(schema, checker) if schema is not None else None
        self._body_defaults: dict[str, Any] = {}
        if schema is not None:
            for name, sub in (schema.get("properties") or {}).items():
                if isinstance(sub, Mapping) and "default" in sub:
                    self._body_defaults[name] = sub["default"]
        self._query: list[tuple[Parameter, Draft4Validator]] = [
            (param, Draft4Validator(param.schema, format_checker=checker))
            for param in operation.parameters
            if param.location == "query"
        ]

    @property
    def has_body_schema(self) -> bool:
        return self._body is not None

    def validate_body(self, body: Any) -> list[InvalidParam]:
        """Every failing field of ``body``; empty when it is valid."""
        if self._body is None or (self._body_accepts is not None and self._body_accepts(body)):
            return []
        errors = sorted(
            self._body.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]
        )
        return _errors_to_params(errors, BODY_FIELD)

    def with_defaults(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``body`` with the schema's defaults filled in for absent top-level fields."""
        return {**self._body_defaults, **body}

    def validate_query(self, query: Mapping[str, str]) -> tuple[dict[str, Any], list[InvalidParam]]:
        """Coerce query strings to their schema's type, fill defaults, and check them."""
        values: dict[str, Any] = {}
        problems: list[InvalidParam] = []
        for param, validator in self._query:
            if param.name not in query:
                if "default" in param.schema:
                    values[param.name] = param.schema["default"]
                elif param.required:
                    problems.append(
                        InvalidParam(param.name, f"Parameter '{param.name}' is required")
                    )
                continue
            value = _coerce(query[param.name], param.schema)
            error = next(iter(validator.iter_errors(value)), None)
            if error is not None:
                problems.append(InvalidParam(param.name, _reason(param.name, error)))
            else:
                values[param.name] = value
        return values, problems


def _coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    """Read a query string as the schema's type; leave it a string when it is not one."""
    kind = schema.get("type")
    if kind == "integer" and _INTEGER.match(raw):
        return int(raw)
    if kind == "number" and _NUMBER.match(raw):
        return float(raw)
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw

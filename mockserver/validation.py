"""Request validation compiled from the spec.

Validators are compiled once per operation (a compiled Draft 4 validator costs tens of
microseconds a call; ``jsonschema.validate`` re-checks the schema every time). A valid
body is accepted by the compiled check of :mod:`mockserver.fastpath` alone, so the
jsonschema validators, and jsonschema itself (about 50 ms of start-up), are built at
their first need or by :meth:`OperationValidator.prepare`. Nothing here knows a field
by name: every rule comes from the schemas that :mod:`mockserver.spec` extracted, and
every failure is reported as an :class:`InvalidParam` naming the field the schema
located it at.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .fastpath import compile_acceptor
from .spec import Operation, Parameter

if TYPE_CHECKING:
    from jsonschema import Draft4Validator, FormatChecker
    from jsonschema.exceptions import ValidationError

__all__ = ["BODY_FIELD", "FormatChecks", "InvalidParam", "OperationValidator", "format_checker"]

# The name an invalid_params entry carries when the body as a whole is wrong.
BODY_FIELD = "body"

_INTEGER = re.compile(r"^[-+]?[0-9]+$")
_NUMBER = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")


class InvalidParam(NamedTuple):
    """One failing field and a sentence saying why, in the API's wording style."""

    field: str
    reason: str


_NO_URI_CHECK = "jsonschema cannot check format 'uri': install jsonschema[format-nongpl]"


class FormatChecks:
    """Draft 4's format checks, refusing to run without a real ``uri`` check.

    jsonschema silently skips ``format: uri`` unless rfc3986-validator (its
    ``format-nongpl`` extra) or rfc3987 is installed; a fake that accepts
    ``"not a uri"`` would lie. That is checked here without importing jsonschema,
    and again on the real checker when it is first needed (:attr:`jsonschema`).
    ``uri`` is checked with the very call jsonschema makes (``validate_rfc3986(value,
    rule="URI")``), so a valid body never needs jsonschema; every other format asks
    jsonschema's checker.
    """

    def __init__(self) -> None:
        has_rfc3987 = importlib.util.find_spec("rfc3987") is not None
        has_rfc3986 = importlib.util.find_spec("rfc3986_validator") is not None
        if importlib.util.find_spec("jsonschema") is None or not (has_rfc3987 or has_rfc3986):
            raise RuntimeError(_NO_URI_CHECK)
        # jsonschema prefers rfc3987 when both are installed; then it answers alone.
        self._uri: Callable[[str], bool] | None = None if has_rfc3987 else _rfc3986_uri
        self._checker: FormatChecker | None = None

    @property
    def jsonschema(self) -> FormatChecker:
        """jsonschema's Draft 4 format checker (imports jsonschema at the first call)."""
        if self._checker is None:
            from jsonschema import Draft4Validator

            checker: FormatChecker = Draft4Validator.FORMAT_CHECKER
            if "uri" not in checker.checkers or checker.conforms("not a uri", "uri"):
                raise RuntimeError(_NO_URI_CHECK)
            self._checker = checker
        return self._checker

    def conforms(self, value: object, name: str) -> bool:
        """Whether ``value`` conforms to format ``name``, as jsonschema would say."""
        if name == "uri" and self._uri is not None and isinstance(value, str):
            return self._uri(value)
        return self.jsonschema.conforms(value, name)


# Clients send the same few URLs over and over (a test suite's fixtures), and the
# answer depends on the string alone.
@functools.lru_cache(maxsize=4096)
def _rfc3986_uri(value: str) -> bool:
    from rfc3986_validator import validate_rfc3986  # type: ignore[import-untyped]

    return bool(validate_rfc3986(value, rule="URI"))


def format_checker() -> FormatChecks:
    """Draft 4's format checks; raises RuntimeError when ``uri`` would go unchecked."""
    return FormatChecks()


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


# Reasons already composed, by (field, keyword, id of the schema): a reason depends on
# the rule broken, never on the value sent, and listing a long enum is most of a
# refusal's own cost. One cache per OperationValidator, which holds the schemas (so
# an id is never reused while cached); bounded, since array fields put indexes in names.
_Reasons = dict[tuple[str, str, int], str]
_REASONS_KEPT = 1024


def _reason(name: str, error: ValidationError, reasons: _Reasons | None = None) -> str:
    """A sentence like the spec's own examples ("Parameter 'page' must be greater than 0")."""
    if reasons is None:
        return _compose_reason(name, error)
    key = (name, str(error.validator), id(error.schema))
    reason = reasons.get(key)
    if reason is None:
        if len(reasons) >= _REASONS_KEPT:
            reasons.clear()
        reason = reasons[key] = _compose_reason(name, error)
    return reason


def _compose_reason(name: str, error: ValidationError) -> str:
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


def _errors_to_params(
    errors: Iterable[ValidationError], root_name: str, reasons: _Reasons | None = None
) -> list[InvalidParam]:
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
                    found[missing] = InvalidParam(missing, _reason(missing, error, reasons))
            continue
        path = [str(part) for part in error.absolute_path]
        name = ".".join(path) if path else root_name
        if name not in found or (error.validator == "type" and name not in typed):
            found[name] = InvalidParam(name, _reason(name, error, reasons))
            if error.validator == "type":
                typed.add(name)
    return list(found.values())


class OperationValidator:
    """Compiled checks for one operation's body and query parameters."""

    def __init__(self, operation: Operation, checker: FormatChecks | None = None) -> None:
        self._checks = checker or format_checker()
        self.operation = operation
        schema = operation.request_schema
        # A compiled yes/no check in front of jsonschema for valid bodies (fastpath.py).
        self._body_accepts = compile_acceptor(schema, self._checks) if schema is not None else None
        self._body_defaults: dict[str, Any] = {}
        if schema is not None:
            for name, sub in (schema.get("properties") or {}).items():
                if isinstance(sub, Mapping) and "default" in sub:
                    self._body_defaults[name] = sub["default"]
        self._query_params = [p for p in operation.parameters if p.location == "query"]
        self._jsonschema: _JsonSchemaValidators | None = None
        self._reasons: _Reasons = {}

    def prepare(self) -> None:
        """Build the jsonschema validators now rather than at their first need."""
        self._validators()

    @property
    def prepared(self) -> bool:
        """Whether the jsonschema validators are built."""
        return self._jsonschema is not None

    def _validators(self) -> _JsonSchemaValidators:
        if self._jsonschema is None:
            self._jsonschema = _JsonSchemaValidators(
                self.operation.request_schema, self._query_params, self._checks
            )
        return self._jsonschema

    @property
    def has_body_schema(self) -> bool:
        return self.operation.request_schema is not None

    def validate_body(self, body: Any) -> list[InvalidParam]:
        """Every failing field of ``body``; empty when it is valid."""
        if not self.has_body_schema or (
            self._body_accepts is not None and self._body_accepts(body)
        ):
            return []
        explainer = self._validators().body
        assert explainer is not None
        errors = sorted(explainer.errors(body), key=lambda e: [str(p) for p in e.absolute_path])
        return _errors_to_params(errors, BODY_FIELD, self._reasons)

    def with_defaults(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``body`` with the schema's defaults filled in for absent top-level fields."""
        return {**self._body_defaults, **body}

    def validate_query(self, query: Mapping[str, str]) -> tuple[dict[str, Any], list[InvalidParam]]:
        """Coerce query strings to their schema's type, fill defaults, and check them."""
        values: dict[str, Any] = {}
        problems: list[InvalidParam] = []
        if not self._query_params:
            return values, problems
        for param, validator in self._validators().query:
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
                problems.append(InvalidParam(param.name, _reason(param.name, error, self._reasons)))
            else:
                values[param.name] = value
        return values, problems


class _JsonSchemaValidators:
    """The jsonschema validators of one operation: its body and each query parameter."""

    def __init__(
        self,
        body_schema: dict[str, Any] | None,
        query_params: list[Parameter],
        checks: FormatChecks,
    ) -> None:
        checker = checks.jsonschema
        from jsonschema import Draft4Validator

        self.body = None
        if body_schema is not None:
            self.body = _BodyExplainer(body_schema, checks)
        self.query: list[tuple[Parameter, Draft4Validator]] = [
            (param, Draft4Validator(param.schema, format_checker=checker)) for param in query_params
        ]


# Top-level keywords whose errors are all located at the body itself (path []), so
# they can be checked apart from ``properties`` without changing the errors' order.
_BODY_LEVEL_KEYWORDS = frozenset(
    {"type", "required", "minProperties", "maxProperties", "additionalProperties"}
)
_ANNOTATIONS = frozenset({"title", "description", "default", "example", "examples", "nullable"})


class _BodyExplainer:
    """Every error jsonschema finds in a body, found property by property.

    A whole-body jsonschema pass evolves a validator for every property present, valid
    or not, and that is most of a refusal's cost. For an object schema whose top-level
    keywords only speak of the body itself, the properties are independent: each one
    present is first asked of its own compiled yes/no check (``fastpath.py``) and only
    explained by its own jsonschema validator when it fails; the body-level keywords
    get a validator of their own. Sorted by path, as :meth:`OperationValidator.validate_body`
    sorts them, these are the errors of the whole-body validator
    (``tests/test_fastpath.py`` compares both on generated bodies). Any other schema
    is explained whole.

    A property's errors depend on its value alone, so those of short scalar values are
    kept (bounded): clients refused once tend to send the same wrong value again, and a
    suite's fixtures repeat.
    """

    def __init__(self, schema: dict[str, Any], checks: FormatChecks) -> None:
        from jsonschema import Draft4Validator

        checker = checks.jsonschema
        self._whole = Draft4Validator(schema, format_checker=checker)
        properties = schema.get("properties")
        splittable = isinstance(properties, Mapping) and all(
            key == "properties"
            or key in _BODY_LEVEL_KEYWORDS
            or key in _ANNOTATIONS
            or key.startswith("x-")
            for key in schema
        )
        self._properties: list[tuple[str, Draft4Validator, Callable[[Any], bool] | None]] = []
        self._body_level: Draft4Validator | None = None
        self._known: dict[tuple[str, type, Any], tuple[ValidationError, ...]] = {}
        if not splittable or not isinstance(properties, Mapping):
            return
        body_level = {k: v for k, v in schema.items() if k != "properties"}
        if body_level.get("additionalProperties", True) is not True:
            # additionalProperties needs the names of the properties, not their rules.
            body_level["properties"] = {name: {} for name in properties}
        self._body_level = Draft4Validator(body_level, format_checker=checker)
        for name, sub in properties.items():
            accepts = compile_acceptor(sub, checks) if isinstance(sub, Mapping) else None
            self._properties.append((name, Draft4Validator(sub, format_checker=checker), accepts))

    def errors(self, body: Any) -> Iterable[ValidationError]:
        if self._body_level is None:
            return list(self._whole.iter_errors(body))
        found = list(self._body_level.iter_errors(body))
        if not isinstance(body, dict):
            return found  # "properties" ignores anything but an object
        known = self._known
        for name, validator, accepts in self._properties:
            if name not in body:
                continue
            value = body[name]
            key = (name, value.__class__, value) if _keepable(value) else None
            errors = known.get(key) if key is not None else None
            if errors is None:
                errors = ()
                if accepts is None or not accepts(value):
                    errors = tuple(validator.iter_errors(value))
                    for error in errors:
                        error.path.appendleft(name)
                if key is not None:
                    if len(known) >= _KNOWN_KEPT:
                        known.clear()
                    known[key] = errors
            found.extend(errors)
        return found


_KNOWN_KEPT = 1024


def _keepable(value: Any) -> bool:
    # The value's type is part of the key: 1, 1.0 and True are equal but not alike.
    if isinstance(value, str):
        return len(value) <= 256
    return value is None or isinstance(value, int | float)


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

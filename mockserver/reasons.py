"""The wordings of a refused request: one table, rendered per profile.

Validation (:mod:`mockserver.validation`) reports :class:`~mockserver.validation.Problem`
items in pydantic v2's own terms; this module alone turns them into the 400 body.

- ``observed`` (the default) answers as the live API was recorded answering (FastAPI on
  pydantic v2, see ``shared/docs/freepik-facts.md``): ``{"message": "Validation error",
  "invalid_params": [{"field": "body.cfg_scale", "reason": <pydantic's msg>}]}``.
- ``spec`` answers as the spec's ``application/problem+json`` example does:
  ``{"message": "Your request parameters didn't validate.", "invalid_params": [{"name":
  "page", "reason": "Parameter 'page' must be greater than 0"}]}``, each reason in that
  example's style, chosen by pydantic's error type in :data:`SPEC_REASONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from .config import Profile

if TYPE_CHECKING:
    from .validation import Problem

__all__ = [
    "OBSERVED_MESSAGE",
    "SPEC_MESSAGE",
    "SPEC_REASONS",
    "Profile",
    "invalid_params_body",
    "spec_reason",
    "unsupported_media_type",
]


OBSERVED_MESSAGE: Final = "Validation error"
SPEC_MESSAGE: Final = "Your request parameters didn't validate."

# The loc's first part says where the value was read; the spec's names leave it out.
_SOURCES: Final = frozenset({"body", "query", "path", "header"})


def invalid_params_body(problems: Iterable[Problem], profile: Profile) -> dict[str, Any]:
    """The 400 body for ``problems``, one ``invalid_params`` item each, in their order."""
    if profile == "observed":
        items = [
            {"field": ".".join(map(str, problem.loc)), "reason": problem.message}
            for problem in problems
        ]
        return {"message": OBSERVED_MESSAGE, "invalid_params": items}
    items = [{"name": _name(problem), "reason": spec_reason(problem)} for problem in problems]
    return {"message": SPEC_MESSAGE, "invalid_params": items}


def _name(problem: Problem) -> str:
    loc = problem.loc
    if loc and loc[0] in _SOURCES:
        # A malformed body's loc ends in a character position, which names no field.
        inner = loc[1:] if problem.type != "json_invalid" else ()
        return ".".join(map(str, inner)) if inner else str(loc[0])
    return ".".join(map(str, loc))


def _subject(name: str) -> str:
    return "Request body" if name == "body" else f"Parameter '{name}'"


def _number(value: Any) -> str:
    # pydantic keeps a number type's bounds as floats: the spec's "maximum: 2" reads 2.
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _expected(ctx: Mapping[str, Any]) -> str:
    return f"must be one of: {ctx.get('expected', '')}"


# A reason's predicate by pydantic's error type ("Parameter 'x' " + predicate): the
# wording of the spec's examples ("Parameter 'page' must be greater than 0"). Every
# error type the compiled schemas can raise is here; any other reads "is not valid".
SPEC_REASONS: Final[dict[str, Callable[[Mapping[str, Any]], str]]] = {
    "missing": lambda ctx: "is required",
    "extra_forbidden": lambda ctx: "is not allowed",
    "string_type": lambda ctx: "must be a string",
    "int_type": lambda ctx: "must be an integer",
    "int_parsing": lambda ctx: "must be an integer",
    "int_from_float": lambda ctx: "must be an integer",
    "float_type": lambda ctx: "must be a number",
    "float_parsing": lambda ctx: "must be a number",
    "bool_type": lambda ctx: "must be a boolean",
    "bool_parsing": lambda ctx: "must be a boolean",
    "none_required": lambda ctx: "must be null",
    "list_type": lambda ctx: "must be an array",
    "dict_type": lambda ctx: "must be a JSON object",
    "model_type": lambda ctx: "must be a JSON object",
    "model_attributes_type": lambda ctx: "must be a JSON object",
    "literal_error": _expected,
    "enum": _expected,
    "string_too_long": lambda ctx: f"must be at most {ctx['max_length']} characters long",
    "string_too_short": lambda ctx: f"must be at least {ctx['min_length']} characters long",
    "string_pattern_mismatch": lambda ctx: f"must match the pattern {ctx['pattern']}",
    "less_than_equal": lambda ctx: f"must be at most {_number(ctx['le'])}",
    "less_than": lambda ctx: f"must be less than {_number(ctx['lt'])}",
    "greater_than_equal": lambda ctx: f"must be at least {_number(ctx['ge'])}",
    "greater_than": lambda ctx: f"must be greater than {_number(ctx['gt'])}",
    "value_error": lambda ctx: f"is not valid: {ctx.get('error', '')}",
    "multiple_of": lambda ctx: f"must be a multiple of {_number(ctx['multiple_of'])}",
    "too_long": lambda ctx: f"must have at most {ctx['max_length']} items",
    "too_short": lambda ctx: f"must have at least {ctx['min_length']} items",
    "list_unique_items": lambda ctx: "must not contain the same item twice",
    "url_type": lambda ctx: "must be a string",
    "url_parsing": lambda ctx: "must be a valid uri",
    "url_syntax_violation": lambda ctx: "must be a valid uri",
    "url_scheme": lambda ctx: "must be a valid uri",
    "url_too_long": lambda ctx: f"must be at most {ctx['max_length']} characters long",
    "uuid_type": lambda ctx: "must be a string",
    "uuid_parsing": lambda ctx: "must be a valid uuid",
    "uuid_version": lambda ctx: "must be a valid uuid",
    "date_parsing": lambda ctx: "must be a valid date",
    "date_from_datetime_parsing": lambda ctx: "must be a valid date",
    "date_from_datetime_inexact": lambda ctx: "must be a valid date",
    "datetime_parsing": lambda ctx: "must be a valid date-time",
    "datetime_from_date_parsing": lambda ctx: "must be a valid date-time",
}


def spec_reason(problem: Problem) -> str:
    """One problem's reason in the style of the spec's examples."""
    if problem.type == "json_invalid":
        position = problem.loc[-1] if len(problem.loc) > 1 else 0
        return f"Request body is not valid JSON: {problem.ctx.get('error', '')} (char {position})"
    predicate = SPEC_REASONS.get(problem.type)
    text = predicate(problem.ctx) if predicate is not None else "is not valid"
    return f"{_subject(_name(problem))} {text}"


def unsupported_media_type(content_type: str, accepted: Iterable[str]) -> str:
    """The message of a 400 for a body sent as a media type the operation does not take."""
    return f"Content-Type '{content_type}' is not supported; send {' or '.join(accepted)}"

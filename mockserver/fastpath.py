"""A compiled yes/no check that lets a valid request body skip jsonschema.

jsonschema's compiled Draft 4 validator costs about 18 us for a valid create body;
fastjsonschema turns the same schema into straight Python code that answers in about
2.5 us. It only ever says *yes*: a body it refuses is handed to jsonschema, which
decides and explains (the ``invalid_params`` items always come from jsonschema). So the
one thing that must never happen is fastjsonschema accepting what jsonschema refuses;
``tests/test_fastpath.py`` checks that both agree on generated bodies.

The check is only built for schemas made of the keywords below, which the agreement
tests exercise; anything else (``enum`` with non-string members, ``pattern`` with its
regex dialects, ``uniqueItems``, ``$ref``, combinators, a list of types) leaves the
operation on jsonschema alone. Formats are checked by the same checks jsonschema uses
(:class:`mockserver.validation.FormatChecks`), so ``uri`` means the same in both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import fastjsonschema

__all__ = ["Acceptor", "FormatConformance", "compile_acceptor"]

Acceptor = Callable[[Any], bool]


class FormatConformance(Protocol):
    """What checks a ``format`` (jsonschema's ``FormatChecker`` is one)."""

    def conforms(self, instance: object, format: str, /) -> bool: ...

_DRAFT4 = "http://json-schema.org/draft-04/schema#"
# Keywords that constrain, read alike by both libraries (tests/test_fastpath.py).
_CHECKED = frozenset(
    {
        "type",
        "properties",
        "required",
        "enum",
        "maxLength",
        "minLength",
        "maximum",
        "minimum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "format",
        "items",
        "maxItems",
        "minItems",
        "additionalProperties",
    }
)
# Keywords that only annotate.
_ANNOTATIONS = frozenset({"title", "description", "default", "example", "examples", "$comment"})


def _supported(schema: Any, formats: set[str]) -> bool:
    """Whether every keyword of ``schema`` is one both libraries read alike."""
    if not isinstance(schema, Mapping):
        return False
    for keyword, value in schema.items():
        if keyword.startswith("x-") or keyword in _ANNOTATIONS:
            continue
        if keyword not in _CHECKED:
            return False
        if keyword == "enum" and not all(isinstance(v, str) for v in value):
            return False
        if keyword == "type" and not isinstance(value, str):
            return False
        if keyword == "format":
            formats.add(str(value))
        if keyword == "properties" and not all(_supported(sub, formats) for sub in value.values()):
            return False
        subschema = keyword in ("items", "additionalProperties") and not isinstance(value, bool)
        if subschema and not _supported(value, formats):
            return False
    return True


def _format_check(checker: FormatConformance, name: str) -> Callable[[str], bool]:
    # A format the checker does not know conforms, as jsonschema ignores it.
    return lambda value: checker.conforms(value, name)


def compile_acceptor(schema: Mapping[str, Any], checker: FormatConformance) -> Acceptor | None:
    """A function saying whether ``schema`` surely accepts a value, or None when the
    schema uses something outside the shared subset."""
    formats: set[str] = set()
    if not _supported(schema, formats):
        return None
    try:
        validate = fastjsonschema.compile(
            {**schema, "$schema": _DRAFT4},
            formats={name: _format_check(checker, name) for name in formats},
            use_default=False,  # never fill defaults into the caller's body
            detailed_exceptions=False,
        )
    except fastjsonschema.JsonSchemaDefinitionException:
        return None

    def accepts(value: Any) -> bool:
        try:
            validate(value)
        except fastjsonschema.JsonSchemaValueException:
            return False
        return True

    return accepts

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

The generated code is compiled once and kept in the on-disk cache (cache.py) under the
schema and the generator's version, so a start with a warm cache neither imports
fastjsonschema nor generates anything (about 3 ms of a 0.1 s start).
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import CodeType
from typing import Any, Protocol

import orjson

from .cache import cached, files_identity

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
    definition = {**schema, "$schema": _DRAFT4}
    key = (_generator_identity(), orjson.dumps(definition, option=orjson.OPT_SORT_KEYS))
    generated = cached("acceptor", key, lambda: _generate(definition, formats))
    if generated is None:
        return None
    code, function_name = generated
    # The generated code's only free names (checked by _generate).
    namespace: dict[str, Any] = {
        "JsonSchemaValueException": _Refused,
        "JsonSchemaValuesException": _Refused,
        "Decimal": _NotParsedFromJson,
    }
    exec(code, namespace)
    validate = namespace[function_name]
    custom_formats = {name: _format_check(checker, name) for name in formats}

    def accepts(value: Any) -> bool:
        try:
            validate(value, custom_formats)
        except _Refused:
            return False
        return True

    return accepts


class _Refused(Exception):
    """Raised by the generated code for a value it refuses (fastjsonschema's own
    exception would import fastjsonschema at every start)."""


class _NotParsedFromJson:
    """Stands for ``decimal.Decimal`` in the generated code's number checks: a parsed
    JSON body holds none, and a value that did would only be refused here and decided
    by jsonschema (importing decimal costs a millisecond of start-up)."""


# Names fastjsonschema offers the generated code besides those above; code that uses
# one (a regex pattern, Decimal arithmetic for multipleOf) is outside the subset.
_OTHER_GLOBALS = re.compile(r"\b(?:REGEX_PATTERNS|re\.|Decimal\()")


def _generate(definition: dict[str, Any], formats: set[str]) -> tuple[CodeType, str] | None:
    """fastjsonschema's code for ``definition``, compiled, and its entry function's name."""
    import fastjsonschema
    from fastjsonschema.draft04 import CodeGeneratorDraft04
    from fastjsonschema.ref_resolver import RefResolver

    try:
        resolver = RefResolver.from_schema(definition, store={})
        generator = CodeGeneratorDraft04(  # type: ignore[no-untyped-call]
            definition,
            resolver=resolver,
            # Only the formats' names shape the code; the checks are passed at each call.
            formats=dict.fromkeys(formats, _checked_at_call_time),
            use_default=False,  # never fill defaults into the caller's body
            detailed_exceptions=False,
        )
        source = generator.func_code
    except fastjsonschema.JsonSchemaDefinitionException:
        return None
    if _OTHER_GLOBALS.search(source):
        return None
    return compile(source, "<fastpath>", "exec"), resolver.get_scope_name()


def _checked_at_call_time(value: str) -> bool:
    raise AssertionError("the generated code is handed the real format checks")


@functools.cache
def _generator_identity() -> bytes:
    """What the generated code depends on: fastjsonschema's version and this module."""
    found = importlib.util.find_spec("fastjsonschema")
    folders = (found.submodule_search_locations or []) if found is not None else []
    return files_identity(*(Path(folder) / "version.py" for folder in folders), Path(__file__))

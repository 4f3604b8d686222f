"""Third-party imports deferred until first use, so that start-up stays fast.

``import jsonschema`` imports rfc3987-syntax when it is installed (jsonschema's
``format-nongpl`` extra brings it), and that package builds a Lark grammar at import
time: about 0.7 s, three quarters of ``freepik-mock serve``'s start-up. It checks only
the ``iri`` formats of Draft 7 and later; the fake's validators are Draft 4 and never
call it. Until something does, a stand-in module takes its place; at the first use the
real module is imported and answers, so every caller still gets the real checks.

:func:`deferred_module` and :class:`DeferredDraft4Validator` do the same for modules
``serve`` needs only later, if ever: httpx (about 35 ms; webhook deliveries, media
probes) and jsonschema (about 50 ms; only a refused body needs its explanations).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft4Validator
    from jsonschema.exceptions import ValidationError

__all__ = ["DeferredDraft4Validator", "defer_rfc3987_syntax", "deferred_module"]

_NAME = "rfc3987_syntax"


class _StandIn(types.ModuleType):
    """Answers attribute look-ups by importing the real module first."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_real_module(), name)


def _real_module() -> types.ModuleType:
    if isinstance(sys.modules.get(_NAME), _StandIn):
        del sys.modules[_NAME]
    return importlib.import_module(_NAME)


def _is_valid_syntax(term: str, value: str) -> bool:
    result: bool = _real_module().is_valid_syntax(term, value)
    return result


def defer_rfc3987_syntax() -> None:
    """Put the stand-in in place, unless jsonschema or rfc3987-syntax is loaded already."""
    if _NAME in sys.modules or "jsonschema" in sys.modules:
        return
    spec = importlib.util.find_spec(_NAME)
    if spec is None:
        return
    stand_in = _StandIn(_NAME, "stands in for rfc3987_syntax until its first use")
    # What jsonschema imports by name must exist on the module itself.
    stand_in.is_valid_syntax = _is_valid_syntax  # type: ignore[attr-defined]
    stand_in.__path__ = list(spec.submodule_search_locations or [])
    # importlib.util.find_spec() of a loaded module reads its __spec__; keep it truthful.
    stand_in.__spec__ = spec
    sys.modules[_NAME] = stand_in


class _DeferredModule(types.ModuleType):
    """A module object that imports the real one at its first attribute look-up.

    It is never put in ``sys.modules``: only the importer that asked for it defers,
    and ``import httpx`` elsewhere still gets the real module.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module(self.__name__), name)


def deferred_module(name: str) -> types.ModuleType:
    """``name``, imported when an attribute of it is first read. Write it as
    ``if TYPE_CHECKING: import httpx`` / ``else: httpx = deferred_module("httpx")``."""
    return _DeferredModule(name, f"imports {name} at its first use")


class DeferredDraft4Validator:
    """``jsonschema.Draft4Validator(schema)``, built at its first use."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._validator: Draft4Validator | None = None

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        if self._validator is None:
            from jsonschema import Draft4Validator

            self._validator = Draft4Validator(self.schema)
        return self._validator.iter_errors(instance)

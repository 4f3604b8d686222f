"""Third-party imports deferred until first use, so that start-up stays fast.

``import jsonschema`` imports rfc3987-syntax when it is installed (jsonschema's
``format-nongpl`` extra brings it), and that package builds a Lark grammar at import
time: about 0.7 s, three quarters of ``freepik-mock serve``'s start-up. It checks only
the ``iri`` formats of Draft 7 and later; the fake's validators are Draft 4 and never
call it. Until something does, a stand-in module takes its place; at the first use the
real module is imported and answers, so every caller still gets the real checks.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

__all__ = ["defer_rfc3987_syntax"]

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

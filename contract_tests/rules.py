"""Rules across a request's fields, as the spec declares them, read to generate valid bodies.

JSON Schema cannot say "prompt or multi_prompt" or "at most 4 elements plus reference
images"; the vendored spec states such prose rules as the ``x-freepik-mock-rules``
extension on the object. This is the contract suite's own reading of that extension
(the spec is the contract; the fake's validator is not consulted): a rule counts either
the fields that are *given* (present and not null) or the *items* of array fields, with
a ``min`` and/or ``max``, optionally only ``when_given`` or ``unless_given`` other fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mockserver.spec import RULES_EXTENSION

__all__ = ["FieldRule", "keeps_rules", "rules_of"]


@dataclass(frozen=True)
class FieldRule:
    fields: tuple[str, ...]
    counts_items: bool = False
    min: int | None = None
    max: int | None = None
    when_given: tuple[str, ...] = ()
    unless_given: tuple[str, ...] = ()

    def applies(self, body: Mapping[str, Any]) -> bool:
        if self.when_given and all(body.get(n) is None for n in self.when_given):
            return False
        return not any(body.get(n) is not None for n in self.unless_given)

    def count(self, body: Mapping[str, Any]) -> int:
        if self.counts_items:
            return sum(len(body[n]) for n in self.fields if isinstance(body.get(n), list))
        return sum(body.get(n) is not None for n in self.fields)

    def broken(self, body: Mapping[str, Any]) -> bool:
        if not self.applies(body):
            return False
        count = self.count(body)
        return (self.min is not None and count < self.min) or (
            self.max is not None and count > self.max
        )


def _names(rule: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(name) for name in rule.get(key) or ())


def rules_of(schema: Mapping[str, Any]) -> tuple[FieldRule, ...]:
    """The rules an object schema declares (none when it declares none)."""
    rules: Sequence[Any] = schema.get(RULES_EXTENSION) or ()
    return tuple(
        FieldRule(
            fields=_names(rule, "items") or _names(rule, "given"),
            counts_items="items" in rule,
            min=rule.get("min"),
            max=rule.get("max"),
            when_given=_names(rule, "when_given"),
            unless_given=_names(rule, "unless_given"),
        )
        for rule in rules
        if isinstance(rule, Mapping)
    )


def keeps_rules(schema: Mapping[str, Any], body: Any) -> bool:
    """Whether ``body`` (an object) keeps every rule ``schema`` declares."""
    if not isinstance(body, Mapping):
        return True
    return not any(rule.broken(body) for rule in rules_of(schema))

"""Which task family each operation belongs to, read from the spec's paths alone.

A family is the collection its tasks are read through: the path of its list operation,
which is also its read operation's path without the trailing ``/{task-id}``. A task is
read and listed only through the family that created it (the live API keeps one task
store per family; the std and pro tiers share theirs).

A create operation (a POST) belongs to the longest collection of the same folder whose
path its own path starts with, up to a word boundary:
``/v1/ai/video/kling-v3-omni-pro`` to ``/v1/ai/video/kling-v3-omni``,
``/v1/ai/mystic`` to ``/v1/ai/mystic``. A create with no such collection is a family of
its own, whose tasks no operation reads.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from .spec import Operation

__all__ = ["collection_of", "families"]

# A last path segment that is one template parameter: "/{task-id}".
_PARAM_SEGMENT = re.compile(r"/\{[^}/]+\}$")


def collection_of(operation: Operation) -> str | None:
    """The collection a read or list operation serves, or None for any other operation."""
    if operation.method != "get":
        return None
    path = operation.path
    params = [p for p in operation.parameters if p.location == "path"]
    if not params:
        return path
    if len(params) == 1 and _PARAM_SEGMENT.search(path):
        return _PARAM_SEGMENT.sub("", path)
    return None


def _belongs(create_path: str, collection: str) -> bool:
    if posixpath.dirname(create_path) != posixpath.dirname(collection):
        return False
    if not create_path.startswith(collection):
        return False
    rest = create_path[len(collection) :]
    return rest == "" or not (rest[0].isalnum())


def families(operations: Iterable[Operation]) -> dict[str, str]:
    """Each operation's family (its collection path), by operation id."""
    operations = list(operations)
    collections = {c for c in map(collection_of, operations) if c is not None}
    found: dict[str, str] = {}
    for operation in operations:
        collection = collection_of(operation)
        if collection is None:
            owners = [c for c in collections if _belongs(operation.path, c)]
            collection = max(owners, key=len) if owners else operation.path
        found[operation.operation_id] = collection
    return found

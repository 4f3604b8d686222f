"""Which task family each operation belongs to, read from the spec's paths alone.

A collection is a path tasks are read through: a list operation's path, or a read
operation's path without the trailing ``/{task-id}``. A create (a POST) *belongs* to a
collection its path extends at a word boundary, in the same folder
(``/v1/ai/video/kling-v3-omni-pro`` to ``/v1/ai/video/kling-v3-omni``,
``/v1/ai/mystic`` to ``/v1/ai/mystic``), or to the collection that is its folder
(``/v1/ai/skin-enhancer/creative`` to ``/v1/ai/skin-enhancer``).

A task's family is the longest collection its create belongs to (the create's own path
when there is none): the std and pro tiers of Kling 3 Omni share theirs. The whole
upstream API also has reads shared by tiers that each have a list
(``kling-elements/{task-id}`` beside ``kling-elements-pro`` and ``kling-elements-std``)
and lists of all tiers beside each tier's (``seedance-2-fast`` beside
``seedance-2-fast-1080p``). So each create has a *root*, the longest collection it
belongs to that has a read operation, and:

- a read serves the creates whose root is its collection;
- a list serves the creates that belong to its collection, where that collection is the
  root or lies between the root and the create (``/v1/ai/video/kling-v3`` does not list
  Kling 3 Omni tasks: their root is ``/v1/ai/video/kling-v3-omni``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .spec import Operation

__all__ = ["Families", "belongs", "collection_of", "task_families"]

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


def belongs(path: str, collection: str) -> bool:
    """Whether ``path`` (a create's, or a narrower collection's) belongs to ``collection``."""
    if path == collection:
        return True
    if posixpath.dirname(path) == collection:
        return True
    if posixpath.dirname(path) != posixpath.dirname(collection):
        return False
    if not path.startswith(collection):
        return False
    return not path[len(collection)].isalnum()


@dataclass(frozen=True, slots=True)
class Families:
    """Each create's family, and the families each read and list serves, by operation id."""

    # create operation id -> the family its tasks belong to
    created: dict[str, str] = field(default_factory=dict)
    # read or list operation id -> the families whose tasks it finds
    served: dict[str, frozenset[str]] = field(default_factory=dict)

    def of(self, operation_id: str) -> str:
        """The family a create's tasks belong to."""
        return self.created[operation_id]

    def served_by(self, operation_id: str) -> frozenset[str]:
        """The families whose tasks a read or list operation finds."""
        return self.served.get(operation_id, frozenset())

    def all(self) -> frozenset[str]:
        return frozenset(self.created.values())


def task_families(
    creates: Iterable[Operation], reads: Iterable[Operation], lists: Iterable[Operation]
) -> Families:
    """The families of ``creates`` and what each of ``reads`` and ``lists`` serves."""
    creates = list(creates)
    read_paths = {op.operation_id: collection_of(op) or op.path for op in reads}
    list_paths = {op.operation_id: collection_of(op) or op.path for op in lists}
    collections = set(read_paths.values()) | set(list_paths.values())
    readable = set(read_paths.values())
    created: dict[str, str] = {}
    roots: dict[str, str] = {}
    for create in creates:
        owners = [c for c in collections if belongs(create.path, c)]
        with_read = [c for c in owners if c in readable]
        created[create.operation_id] = max(owners, key=len) if owners else create.path
        roots[create.path] = max(with_read, key=len) if with_read else created[create.operation_id]
    by_path = {op.path: created[op.operation_id] for op in creates}
    served: dict[str, frozenset[str]] = {}
    for op_id, collection in read_paths.items():
        served[op_id] = frozenset(by_path[p] for p, root in roots.items() if root == collection)
    for op_id, collection in list_paths.items():
        served[op_id] = frozenset(
            by_path[p]
            for p, root in roots.items()
            if belongs(p, collection) and belongs(collection, root)
        )
    return Families(created, served)

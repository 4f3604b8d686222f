"""``drift --update``: rewrite the vendored spec from upstream, so a maintainer accepts
upstream changes in one reviewed commit.

Each vendored file keeps its operations (the split stays as it is). A file is rewritten
only when upstream holds all of its operations and differs from it in any way (info
included). It then gets upstream's operations with their ``$ref`` closure, plus the
parts the vendored file marks ``x-derived`` (our own additions, such as the webhook
payload schema) where upstream has nothing in their place, and every ``x-freepik-mock-*``
key (the fake's own extensions, such as cross-field rules) at the same place of the
rewritten file, found by following ``$ref`` on both sides so that a renamed component
keeps them; an extension with no place to go stops the update. A file whose operations
come from one docs page or file that holds exactly them, and that has no such additions,
is copied byte for byte.
``PROVENANCE.md`` gets a row per rewritten file: source, date, sha256. Nothing is
written unless every new file loads as a spec and compares equal to upstream.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..spec import SpecError, load_spec, load_yaml, write_json_twin
from .compare import compare_documents
from .extract import (
    LocatedOperation,
    find_operations,
    operation_key,
    operations_in,
    ref_closure,
)
from .findings import JsonPath, json_path
from .schema_diff import DERIVED_MARK, is_derived, is_vendored_extension
from .sources import SourceDocument

__all__ = ["PROVENANCE_FILE", "UpdateError", "UpdateResult", "UpdatedFile", "update_vendored"]

PROVENANCE_FILE = "PROVENANCE.md"

_PROVENANCE_HEAD = """# Provenance of the vendored spec

The fake, its validation and the contract tests read these documents and nothing else.
Change them only in a reviewed commit (`freepik-mock drift --update` rewrites them from
upstream and updates this file).

| file | source | kind | date | sha256 |
|---|---|---|---|---|
"""


class UpdateError(Exception):
    """The vendored spec could not be rewritten; nothing was written."""


@dataclass(frozen=True, slots=True)
class UpdatedFile:
    name: str
    source: str
    kind: str
    sha256: str


@dataclass(frozen=True, slots=True)
class UpdateResult:
    written: tuple[UpdatedFile, ...]
    kept: tuple[tuple[str, str], ...]  # (file name, why it was left as it is)


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line text, no anchors; PyYAML quotes what YAML 1.1 would
    misread (``'16:9'``), so the output reads the same under YAML 1.1 and 1.2."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def update_vendored(
    spec_dir: Path,
    upstream: Sequence[SourceDocument],
    *,
    today: dt.date | None = None,
) -> UpdateResult:
    """Rewrite the documents in ``spec_dir`` from ``upstream`` and record provenance."""
    date = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    try:
        spec = load_spec(spec_dir)
    except (SpecError, OSError) as exc:
        raise UpdateError(f"cannot load the vendored spec in {spec_dir}: {exc}") from None
    by_label = {document.label: document for document in upstream}
    pairs = [(document.label, document.document) for document in upstream]
    texts: dict[str, tuple[str, UpdatedFile]] = {}
    kept: list[tuple[str, str]] = []
    for path, vendored in sorted(spec.documents.items()):
        keys = [operation_key(m, p) for m, p in operations_in(vendored)]
        if not keys:
            kept.append((path.name, "defines no operation"))
            continue
        located = find_operations(pairs, keys)
        absent = [
            f"{m.upper()} {p}"
            for m, p in operations_in(vendored)
            if operation_key(m, p) not in located
        ]
        if absent:
            kept.append((path.name, "upstream lacks " + ", ".join(absent)))
            continue
        if not compare_documents([(path.name, vendored)], pairs, list_not_vendored=False).findings:
            kept.append((path.name, "no drift in its operations: left as it is"))
            continue
        operations = [located[key] for key in keys]
        sources = list(dict.fromkeys(by_label[op.origin] for op in operations))
        text, kind = _verbatim(vendored, keys, sources) or _extract(
            vendored, operations, sources, date
        )
        digest = hashlib.sha256(text.encode()).hexdigest()
        texts[path.name] = (text, UpdatedFile(path.name, _describe(sources), kind, digest))
    if texts:
        _check(spec_dir, texts, pairs)
        for name, (text, _) in texts.items():
            (spec_dir / name).write_text(text, encoding="utf-8")
            write_json_twin(spec_dir / name)  # what start-up reads: see json_twin
        _write_provenance(spec_dir / PROVENANCE_FILE, [entry for _, entry in texts.values()], date)
    return UpdateResult(tuple(entry for _, entry in texts.values()), tuple(kept))


def _has_vendored_parts(node: Any) -> bool:
    """Whether ``node`` holds anything upstream's text lacks (``x-derived`` parts outside
    ``info``, or the fake's own extensions)."""
    if is_derived(node):
        return True
    if isinstance(node, Mapping):
        return any(
            is_vendored_extension(key) or _has_vendored_parts(value)
            for key, value in node.items()
            if key != "info"
        )
    if isinstance(node, list):
        return any(_has_vendored_parts(item) for item in node)
    return False


def _verbatim(
    vendored: Mapping[str, Any], keys: list[tuple[str, str]], sources: list[SourceDocument]
) -> tuple[str, str] | None:
    """The upstream text itself, when one document holds exactly this file's operations."""
    if len(sources) != 1 or _has_vendored_parts(vendored):
        return None
    source = sources[0]
    theirs = {operation_key(m, p) for m, p in operations_in(source.document)}
    if theirs != set(keys):
        return None
    where = "the docs page's OpenAPI block" if source.kind == "docs-page" else "the file"
    return source.text, f"upstream copy: {where}, byte-for-byte"


def _extract(
    vendored: Mapping[str, Any],
    operations: list[LocatedOperation],
    sources: list[SourceDocument],
    date: str,
) -> tuple[str, str]:
    head = operations[0].document
    new: dict[str, Any] = {"openapi": head.get("openapi", "3.0.0")}
    derived_file = DERIVED_MARK in (vendored.get("info") or {})
    new["info"] = copy.deepcopy(vendored["info"] if derived_file else head.get("info") or {})
    for key in ("servers", "security"):
        if key in head:
            new[key] = copy.deepcopy(head[key])
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    owners: dict[tuple[str, str], str] = {}
    for operation in operations:
        item = paths.setdefault(operation.path, {})
        for key in ("parameters", "servers"):
            if key in operation.path_item:
                item[key] = copy.deepcopy(operation.path_item[key])
        raw = copy.deepcopy(operation.raw)
        if operation.document is not head:
            for key in ("servers", "security"):
                if key not in raw and operation.document.get(key) != head.get(key):
                    raw[key] = copy.deepcopy(operation.document.get(key) or [])
        item[operation.method] = raw
        used = ref_closure(operation.document, [item.get("parameters"), raw])
        used += [("securitySchemes", name) for name in _schemes_used(operation)]
        _add_components(components, owners, operation.document, used, operation.origin)
    new["paths"] = paths

    # Derived components (the webhook payload): upstream's own if it ever has one.
    derived = (vendored.get("components") or {}).get("schemas") or {}
    for name, schema in derived.items():
        if not is_derived(schema):
            continue
        for source in sources:
            theirs = (source.document.get("components") or {}).get("schemas") or {}
            if name in theirs:
                used = [("schemas", name), *ref_closure(source.document, theirs[name])]
                _add_components(components, owners, source.document, used, source.label)
                break
    new["components"] = components
    path_map = {
        vendored_path: operation.path
        for vendored_path, item in (vendored.get("paths") or {}).items()
        for operation in operations
        if any(operation.key == operation_key(m, vendored_path) for m in item)
    }
    carried: list[JsonPath] = []
    _carry_derived(vendored, new, (), path_map, carried)
    for at in carried:
        node = _get(vendored, at)
        for section, name in ref_closure(vendored, node):
            entry = (vendored.get("components") or {}).get(section, {}).get(name)
            if entry is not None and name not in components.setdefault(section, {}):
                components[section][name] = copy.deepcopy(entry)
    new["components"] = {section: entries for section, entries in components.items() if entries}
    if not new["components"]:
        del new["components"]
    extensions = _carry_extensions(vendored, new, path_map)

    labels = ", ".join(op.label for op in operations)
    header = "".join(
        f"# {line}\n"
        for line in (
            f"Written by `freepik-mock drift --update` on {date}; see PROVENANCE.md.",
            *(f"Source: {source.label}" for source in sources),
            f"Holds upstream's {labels} with their $ref closure"
            + ("; plus the vendored parts marked x-derived" if carried else "")
            + ("; plus the fake's own x-freepik-mock-* extensions" if extensions else "")
            + ".",
        )
    )
    text = header + yaml.dump(new, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    if load_yaml(text) != new:
        raise UpdateError("internal: the rewritten YAML does not read back as written")
    kind = f"upstream extract: {labels} and their $ref closure, re-serialized (values unchanged)"
    if carried:
        kind += "; kept vendored additions marked x-derived: " + ", ".join(
            f"`{json_path(at)}`" for at in carried
        )
    if extensions:
        kind += "; kept the fake's own extensions: " + ", ".join(
            f"`{json_path(at)}`" for at in extensions
        )
    return text, kind


def _extension_sites(node: Any, at: JsonPath = ()) -> list[JsonPath]:
    """Where the document has an ``x-freepik-mock-*`` key (the key's own path)."""
    found: list[JsonPath] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            if is_vendored_extension(key):
                found.append((*at, key))
            else:
                found += _extension_sites(value, (*at, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += _extension_sites(item, (*at, index))
    return found


def _ref_target(document: Mapping[str, Any], ref: str) -> tuple[JsonPath, Any] | None:
    if not ref.startswith("#/"):
        return None
    at = tuple(part.replace("~1", "/").replace("~0", "~") for part in ref[2:].split("/"))
    node: Any = document
    for part in at:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return at, node


def _carry_extensions(
    vendored: Mapping[str, Any], new: dict[str, Any], path_map: Mapping[str, str]
) -> list[JsonPath]:
    """Copy every ``x-freepik-mock-*`` key of ``vendored`` to the same place in ``new``,
    walking both side by side and following ``$ref`` on each; return where they were."""
    wanted = _extension_sites(vendored)
    placed: set[JsonPath] = set()
    visited: set[tuple[int, int]] = set()

    def walk(old: Any, at: JsonPath, mine: Any) -> None:
        while isinstance(old, Mapping) and isinstance(old.get("$ref"), str):
            target = _ref_target(vendored, old["$ref"])
            if target is None:
                return
            at, old = target
        while isinstance(mine, dict) and isinstance(mine.get("$ref"), str):
            found = _ref_target(new, mine["$ref"])
            if found is None:
                return
            mine = found[1]
        if isinstance(old, list) and isinstance(mine, list):
            for index, (item, other) in enumerate(zip(old, mine, strict=False)):
                walk(item, (*at, index), other)
            return
        if not isinstance(old, Mapping) or not isinstance(mine, dict):
            return
        if (id(old), id(mine)) in visited:
            return
        visited.add((id(old), id(mine)))
        for key, value in old.items():
            if is_vendored_extension(key):
                mine.setdefault(key, copy.deepcopy(value))
                placed.add((*at, key))
            elif key in mine:
                walk(value, (*at, key), mine[key])

    for vendored_path, upstream_path in path_map.items():
        if upstream_path in new.get("paths", {}):
            walk(
                vendored["paths"][vendored_path],
                ("paths", vendored_path),
                new["paths"][upstream_path],
            )
    walk(vendored, (), new)
    lost = [at for at in wanted if at not in placed]
    if lost:
        raise UpdateError(
            f"the fake's own {lost[0][-1]} at {json_path(lost[0][:-1])} has no place in "
            "upstream's version of that part; nothing written (carry it over by hand)"
        )
    return wanted


def _schemes_used(operation: LocatedOperation) -> list[str]:
    raw = operation.raw
    requirements = raw["security"] if "security" in raw else operation.document.get("security")
    return list(dict.fromkeys(str(name) for req in requirements or [] for name in req or {}))


def _add_components(
    components: dict[str, dict[str, Any]],
    owners: dict[tuple[str, str], str],
    document: Mapping[str, Any],
    used: list[tuple[str, str]],
    origin: str,
) -> None:
    available = document.get("components") or {}
    for section, name in used:
        entry = (available.get(section) or {}).get(name)
        if entry is None:
            continue
        have = components.setdefault(section, {})
        if name in have and have[name] != entry:
            raise UpdateError(
                f"components.{section}.{name} differs between {owners[(section, name)]} and "
                f"{origin}; update from one source at a time"
            )
        if name not in have:
            have[name] = copy.deepcopy(entry)
            owners[(section, name)] = origin


def _carry_derived(
    old: Mapping[str, Any],
    new: dict[str, Any],
    at: JsonPath,
    path_map: Mapping[str, str],
    carried: list[JsonPath],
) -> None:
    for key, value in old.items():
        target = path_map.get(key, key) if at == ("paths",) else key
        if is_derived(value) and at != ():
            if target not in new:
                new[target] = copy.deepcopy(value)
                carried.append((*at, key))
        elif isinstance(value, Mapping):
            if key == "components" and at == ():
                new.setdefault("components", {})
            if key == "schemas" and at == ("components",):
                new.setdefault("schemas", {})
            if isinstance(new.get(target), dict):
                _carry_derived(value, new[target], (*at, target), path_map, carried)


def _get(document: Mapping[str, Any], at: JsonPath) -> Any:
    node: Any = document
    for part in at:
        node = node[part]
    return node


def _describe(sources: list[SourceDocument], *, with_hash: bool = True) -> str:
    parts = []
    for source in sources:
        text = source.label
        if with_hash:
            text += f" (sha256 `{source.sha256}` of the source as read)"
        parts.append(text)
    return "; ".join(parts)


def _check(
    spec_dir: Path,
    texts: Mapping[str, tuple[str, UpdatedFile]],
    upstream: list[tuple[str, dict[str, Any]]],
) -> None:
    """Load the would-be spec from a scratch copy and compare it with upstream again."""
    with tempfile.TemporaryDirectory(prefix="freepik-mock-update-") as scratch:
        trial = Path(scratch) / "openapi"
        shutil.copytree(spec_dir, trial)
        for name, (text, _) in texts.items():
            (trial / name).write_text(text, encoding="utf-8")
        try:
            spec = load_spec(trial)
        except SpecError as exc:
            raise UpdateError(f"the rewritten spec would not load: {exc}") from None
        updated = [
            (path.name, document) for path, document in spec.documents.items() if path.name in texts
        ]
        report = compare_documents(updated, upstream, list_not_vendored=False)
    if report.findings:
        first = report.findings[0]
        raise UpdateError(
            f"internal: the rewritten spec still differs from upstream ({first.path}: "
            f"{first.message})"
        )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _write_provenance(path: Path, entries: list[UpdatedFile], date: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else _PROVENANCE_HEAD
    lines = text.splitlines()
    rows = {
        entry.name: f"| `{entry.name}` | {_cell(entry.source)} | {_cell(entry.kind)} | {date} "
        f"| `{entry.sha256}` |"
        for entry in entries
    }
    last_row = None
    for index, line in enumerate(lines):
        if line.startswith("| `"):
            name = line.split("`")[1]
            last_row = index
            if name in rows:
                lines[index] = rows.pop(name)
    if last_row is None:
        separator = next((i for i, line in enumerate(lines) if line.startswith("|---")), None)
        if separator is None:
            lines += ["", *_PROVENANCE_HEAD.splitlines()[-2:]]
            separator = len(lines) - 1
        last_row = separator
    lines[last_row + 1 : last_row + 1] = list(rows.values())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

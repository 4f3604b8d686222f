"""Loading the vendored OpenAPI documents into operations the fake can serve.

Everything the fake knows about a request's shape comes from here: paths, methods,
parameters, request body schemas, documented responses and the auth header. The
documents are OpenAPI 3.0, so schemas are converted to plain JSON Schema (Draft 4
plus ``nullable``) before anything compiles them.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib.util
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import yaml

__all__ = [
    "HTTP_METHODS",
    "RULES_EXTENSION",
    "Operation",
    "Parameter",
    "Spec",
    "SpecError",
    "document_operation",
    "json_twin",
    "load_spec",
    "load_yaml",
    "read_document",
    "resolve_refs",
    "to_json_schema",
    "vendored_spec_dir",
    "write_json_twin",
]

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# The one extension the fake obeys: rules across an object's fields that JSON Schema
# cannot state (validation.py reads it; kept by to_json_schema).
RULES_EXTENSION = "x-freepik-mock-rules"

# Keys of the OpenAPI 3.0 Schema Object that JSON Schema does not know, or that only
# document: dropped so that a validator never trips over them.
_OPENAPI_ONLY_KEYS = frozenset(
    {
        "nullable",
        "discriminator",
        "readOnly",
        "writeOnly",
        "xml",
        "externalDocs",
        "example",
        "examples",
        "deprecated",
    }
)


class SpecError(Exception):
    """The OpenAPI document cannot be read or does not say what the fake needs."""


@functools.cache
def _yaml12_loader() -> type[yaml.SafeLoader]:
    """PyYAML's safe loader, reading scalars the way YAML 1.2 does.

    PyYAML implements YAML 1.1, where ``16:9`` is the base-60 integer 969 and ``no``
    is False; upstream Freepik specs write such values unquoted and mean strings.
    libyaml's parser (``CSafeLoader``) when PyYAML has it: the resolvers below are
    Python either way, and the C parser reads the vendored spec about 15 times faster.
    """
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Yaml12Loader(base):  # type: ignore[valid-type,misc]
        pass

    yaml11_only_tags = frozenset(
        f"tag:yaml.org,2002:{name}" for name in ("bool", "int", "float", "timestamp")
    )
    Yaml12Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in yaml11_only_tags]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        list("-+0123456789"),
    )
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+.0123456789"),
    )
    Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_yaml12_int)
    return Yaml12Loader


def _construct_yaml12_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def load_yaml(text: str | bytes) -> Any:
    """Parse YAML (or JSON) text with YAML 1.2 scalar rules."""
    import yaml

    try:
        return yaml.load(text, Loader=_yaml12_loader())
    except yaml.YAMLError as exc:
        raise SpecError(f"not valid YAML: {exc}") from exc


def read_document(raw: bytes, suffix: str = ".yaml") -> Any:
    """A document's bytes parsed: ``.json`` with orjson (the whole upstream API, 1.8 MB,
    in about 10 ms), anything else as :func:`load_yaml` does (libyaml: about 1.2 s for
    the same API as 2.2 MB of YAML). Nothing is cached: the bytes are the only source."""
    if suffix != ".json":
        return load_yaml(raw)
    import orjson

    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SpecError(f"not valid JSON: {exc}") from exc


def json_twin(source: Path) -> Path:
    """Where a YAML document's JSON twin is: beside it, named ``<name>.json``.

    The twin holds the document as :func:`load_yaml` reads it, in JSON, with the SHA-256
    of the YAML bytes it was made from: the fake reads it instead of the YAML when that
    digest is the YAML's, so that start-up parses JSON with orjson (under 1 ms for the
    vendored spec) rather than importing PyYAML and parsing YAML (about 40 ms). A YAML
    edited since (or a twin from another version: a checkout, a copy) no longer matches,
    and the YAML is read itself. Whatever writes the YAML writes the twin
    (:func:`write_json_twin`).
    """
    return source.with_name(source.name + ".json")


_TWIN_DIGEST = "source_sha256"
_TWIN_DOCUMENT = "document"


def write_json_twin(source: Path) -> bool:
    """(Re)write ``source``'s JSON twin from its YAML; False, and no twin left, if JSON
    cannot say the same (keys that are not strings, say): the YAML is then read."""
    import orjson

    raw = source.read_bytes()
    document = load_yaml(raw)
    twin = json_twin(source)
    try:
        same = orjson.loads(orjson.dumps(document)) == document
    except (TypeError, orjson.JSONEncodeError):
        same = False
    if not same:
        twin.unlink(missing_ok=True)
        return False
    wrapped = {_TWIN_DIGEST: hashlib.sha256(raw).hexdigest(), _TWIN_DOCUMENT: document}
    twin.write_bytes(orjson.dumps(wrapped, option=orjson.OPT_INDENT_2) + b"\n")
    return True


def _read_source(source: Path) -> Any:
    """A document of a spec folder parsed, from its JSON twin when that was made from
    these very bytes."""
    raw = source.read_bytes()
    if source.suffix in (".yaml", ".yml"):
        try:
            twin = read_document(json_twin(source).read_bytes(), ".json")
        except (FileNotFoundError, SpecError):
            twin = None  # no twin, or not one we can read: the YAML is the truth
        if (
            isinstance(twin, dict)
            and twin.get(_TWIN_DIGEST) == hashlib.sha256(raw).hexdigest()
            and _TWIN_DOCUMENT in twin
        ):
            return twin[_TWIN_DOCUMENT]
    return read_document(raw, source.suffix)


def vendored_spec_dir() -> Path:
    """The folder of OpenAPI documents installed with the package."""
    return package_folder("mockserver.openapi")


def package_folder(package: str) -> Path:
    """The folder a data package of ours is installed in (or, installed editable, the
    checkout's folder). Asked of the import system directly: ``importlib.resources``
    gives the same answer but imports zipfile and more, 1.5 ms of start-up."""
    spec = importlib.util.find_spec(package)
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise SpecError(f"package {package} is not installed with mockserver")
    return Path(next(iter(locations)))


def _pointer_get(doc: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise SpecError(f"only local $ref is supported, got {ref!r}")
    node: Any = doc
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            raise SpecError(f"$ref {ref!r} does not resolve")
        node = node[part]
    return node


def resolve_refs(doc: Mapping[str, Any], node: Any, _stack: tuple[str, ...] = ()) -> Any:
    """Return a copy of ``node`` with every local ``$ref`` replaced by its target."""
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in _stack:
                raise SpecError(f"$ref cycle through {ref!r} is not supported")
            return resolve_refs(doc, _pointer_get(doc, ref), (*_stack, ref))
        return {key: resolve_refs(doc, value, _stack) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve_refs(doc, item, _stack) for item in node]
    return node


def to_json_schema(schema: Any) -> Any:
    """Convert a resolved OpenAPI 3.0 Schema Object to JSON Schema (Draft 4)."""
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _OPENAPI_ONLY_KEYS or (
            isinstance(key, str) and key.startswith("x-") and key != RULES_EXTENSION
        ):
            continue
        if key in ("properties", "patternProperties", "definitions") and isinstance(value, Mapping):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = to_json_schema(value)
        elif key == "default":
            out[key] = copy.deepcopy(value)
        else:
            out[key] = value
    if schema.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


class Parameter(NamedTuple):
    """One query, path or header parameter, its schema already JSON Schema."""

    name: str
    location: str
    required: bool
    schema: dict[str, Any]


class Operation(NamedTuple):
    """One (method, path) of the spec with everything needed to serve and check it."""

    method: str
    path: str
    operation_id: str
    parameters: tuple[Parameter, ...]
    request_body_required: bool
    request_media_types: tuple[str, ...]
    request_schema: dict[str, Any] | None
    # status code ("200", "4XX", "default") -> media type -> JSON Schema (None: no schema)
    responses: dict[str, dict[str, dict[str, Any] | None]]
    auth_header: str | None
    source: Path

    @property
    def route_path(self) -> str:
        """The path in Starlette's syntax, with parameter names made identifiers."""
        return re.sub(r"\{([^}]+)\}", lambda m: "{" + _param_ident(m.group(1)) + "}", self.path)

    def path_param_ident(self, name: str) -> str:
        return _param_ident(name)


def _param_ident(name: str) -> str:
    return re.sub(r"\W", "_", name)


@dataclass(frozen=True, slots=True)
class Spec:
    """All operations of all loaded documents, plus the documents themselves."""

    operations: tuple[Operation, ...]
    documents: dict[Path, dict[str, Any]]

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def by_id(self, operation_id: str) -> Operation:
        for operation in self.operations:
            if operation.operation_id == operation_id:
                return operation
        raise SpecError(f"the spec has no operation {operation_id!r}")

    def find(self, method: str, path: str) -> Operation | None:
        for operation in self.operations:
            if operation.method == method.lower() and operation.path == path:
                return operation
        return None


def _auth_header(doc: Mapping[str, Any], operation: Mapping[str, Any]) -> str | None:
    requirements = operation.get("security", doc.get("security")) or []
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    for requirement in requirements:
        for scheme_name in requirement or {}:
            scheme = resolve_refs(doc, schemes.get(scheme_name) or {})
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                return str(scheme["name"]).lower()
    return None


def _operation(
    doc: dict[str, Any], source: Path, path: str, method: str, item: Mapping[str, Any]
) -> Operation:
    raw = resolve_refs(doc, item[method])
    path_level = resolve_refs(doc, item.get("parameters") or [])
    by_key: dict[tuple[str, str], Parameter] = {}
    for param in [*path_level, *(raw.get("parameters") or [])]:
        by_key[(param["in"], param["name"])] = Parameter(
            name=param["name"],
            location=param["in"],
            required=bool(param.get("required", param["in"] == "path")),
            schema=to_json_schema(param.get("schema") or {}),
        )
    body = raw.get("requestBody") or {}
    content = body.get("content") or {}
    request_schema = None
    for media_type in content:
        if _is_json(media_type) and content[media_type].get("schema") is not None:
            request_schema = to_json_schema(content[media_type]["schema"])
            break
    responses: dict[str, dict[str, dict[str, Any] | None]] = {}
    for status, response in (raw.get("responses") or {}).items():
        media: dict[str, dict[str, Any] | None] = {}
        for media_type, entry in (response.get("content") or {}).items():
            schema = (entry or {}).get("schema")
            media[media_type] = to_json_schema(schema) if schema is not None else None
        responses[str(status)] = media
    operation_id = raw.get("operationId") or f"{method} {path}"
    return Operation(
        method=method,
        path=path,
        operation_id=operation_id,
        parameters=tuple(by_key.values()),
        request_body_required=bool(body.get("required", False)),
        request_media_types=tuple(content),
        request_schema=request_schema,
        responses=responses,
        auth_header=_auth_header(doc, raw),
        source=source,
    )


def document_operation(document: dict[str, Any], source: Path, method: str, path: str) -> Operation:
    """One (method, path) of a parsed document, as :func:`load_spec` reads it (the drift
    checker reads upstream documents it does not serve)."""
    return _operation(document, source, path, method, document["paths"][path])


def _is_json(media_type: str) -> bool:
    base = media_type.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def load_spec(spec_dir: Path | str | None = None) -> Spec:
    """Load every ``*.yaml``/``*.json`` OpenAPI document in ``spec_dir`` (a YAML one from
    its JSON twin when that was made from it: :func:`json_twin`).

    ``None`` loads the vendored documents installed with the package. Two documents
    that define the same (method, path) are an error: the fake would not know which
    one to obey.
    """
    folder = Path(spec_dir) if spec_dir is not None else vendored_spec_dir()
    found = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    # A YAML document's JSON twin is that document, not another one.
    twins = {json_twin(p) for p in found if p.suffix != ".json"}
    paths = [p for p in found if p not in twins]
    if not paths:
        raise SpecError(f"no OpenAPI documents (*.yaml, *.json) in {folder}")
    operations: list[Operation] = []
    documents: dict[Path, dict[str, Any]] = {}
    seen: dict[tuple[str, str], Path] = {}
    for source in paths:
        doc = _read_source(source)
        if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
            raise SpecError(f"{source} is not an OpenAPI 3 document")
        documents[source] = doc
        for path, item in (doc.get("paths") or {}).items():
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                if (method, path) in seen:
                    raise SpecError(
                        f"{method.upper()} {path} is defined in both {seen[(method, path)]} "
                        f"and {source}"
                    )
                seen[(method, path)] = source
                operations.append(_operation(doc, source, path, method, item))
    return Spec(operations=tuple(operations), documents=documents)

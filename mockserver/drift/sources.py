"""Reading an upstream source: a URL or a file, holding an OpenAPI document or a docs page.

A docs page is Markdown whose fenced ``yaml`` block (Mintlify writes four backticks and
an info string such as ``yaml post /v1/...``) holds an OpenAPI document for one
operation; that is the form the seed came in. Everything that goes wrong here is a
:class:`SourceError` whose message says which source and what is wrong with it.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import yaml

from ..spec import SpecError, load_yaml

__all__ = [
    "DEFAULT_UPSTREAM",
    "FETCH_ATTEMPTS",
    "FETCH_TIMEOUT_S",
    "SourceDocument",
    "SourceError",
    "display_name",
    "fetch",
    "load_source",
    "parse_source",
]

# The full upstream spec (shared/docs/freepik-facts.md, "Where the upstream spec lives").
DEFAULT_UPSTREAM = (
    "https://storage.googleapis.com/fc-freepik-pro-rev1-eu-api-specs/freepik-api-v1-openapi.yaml"
)
FETCH_TIMEOUT_S = 30.0
FETCH_ATTEMPTS = 2  # one retry, for a transient failure; never a storm
RETRY_DELAY_S = 2.0

_FENCED_YAML = re.compile(
    r"^(?P<fence>`{3,}|~{3,})[ \t]*(?:yaml|yml)\b(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


class SourceError(Exception):
    """An upstream source could not be fetched, read or understood."""


@dataclass(frozen=True, slots=True, eq=False)  # identity: documents are large
class SourceDocument:
    """One OpenAPI document taken from an upstream source."""

    origin: str  # the URL (without query) or file as given
    label: str  # origin, plus which fenced block for a docs page
    kind: Literal["openapi", "docs-page"]
    text: str  # the document's own text: the whole file, or the fenced block's body
    document: dict[str, Any]
    sha256: str  # of the source's raw bytes, as fetched or read


def display_name(source: str) -> str:
    """The source as it may appear in reports: URLs lose credentials and query strings."""
    if not _is_url(source):
        return source
    parts = urlsplit(source)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(
    url: str,
    *,
    timeout: float = FETCH_TIMEOUT_S,
    client: httpx.Client | None = None,
    retry_delay: float | None = None,
) -> bytes:
    """GET ``url`` with a timeout; retry once on a network error, 429 or 5xx."""
    name = display_name(url)
    owned = client is None
    http = (
        client
        if client is not None
        else httpx.Client(headers={"user-agent": "freepik-mock-drift"}, follow_redirects=True)
    )
    problem = ""
    try:
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            try:
                response = http.get(url, timeout=timeout)
            except httpx.TimeoutException:
                problem = f"no answer within {timeout:g} s"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status < 400:
                    return response.content
                problem = f"HTTP {status} {response.reason_phrase}".rstrip()
                if status != 429 and status < 500:
                    raise SourceError(f"could not fetch {name}: {problem}")
            if attempt < FETCH_ATTEMPTS:
                time.sleep(RETRY_DELAY_S if retry_delay is None else retry_delay)
    finally:
        if owned:
            http.close()
    raise SourceError(
        f"could not fetch {name}: {problem} (tried {FETCH_ATTEMPTS} times, "
        f"{timeout:g} s timeout each)"
    )


def load_source(
    source: str,
    *,
    timeout: float = FETCH_TIMEOUT_S,
    client: httpx.Client | None = None,
) -> list[SourceDocument]:
    """Fetch or read ``source`` (URL or file path) and return its OpenAPI documents."""
    if _is_url(source):
        raw = fetch(source, timeout=timeout, client=client)
    else:
        path = Path(source)
        if path.is_dir():
            raise SourceError(f"{source}: is a folder; give an OpenAPI file or a docs page")
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise SourceError(f"{source}: no such file") from None
        except OSError as exc:
            raise SourceError(f"{source}: cannot read it: {exc.strerror or exc}") from None
    return parse_source(display_name(source), raw)


def parse_source(origin: str, raw: bytes) -> list[SourceDocument]:
    """The OpenAPI documents in ``raw``: the whole text, or each fenced ``yaml`` block."""
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        message = f"{origin}: not a text file (not UTF-8), so not an OpenAPI document"
        raise SourceError(message) from None
    if not text.strip():
        raise SourceError(f"{origin}: the file is empty")

    blocks = list(_FENCED_YAML.finditer(text))
    documents: list[SourceDocument] = []
    block_problems: list[str] = []
    for number, block in enumerate(blocks, start=1):
        body = block.group("body")
        info = block.group("info").strip()
        where = f"```yaml block {number}" + (f" ({info})" if info else "")
        try:
            document = _openapi_document(load_yaml(body))
        except SpecError as exc:
            block_problems.append(f"{where}: {_yaml_problem(exc)}")
            continue
        except SourceError as exc:
            block_problems.append(f"{where}: {exc}")
            continue
        documents.append(
            SourceDocument(origin, f"{origin}, {where}", "docs-page", body, document, digest)
        )
    if documents:
        return documents

    try:
        data: Any = load_yaml(text)
    except SpecError as exc:
        problem = _yaml_problem(exc)
        raise SourceError(f"{origin}: {_explain(origin, text, problem, block_problems)}") from None
    if not isinstance(data, dict):
        problem = _not_a_mapping(data)
        raise SourceError(f"{origin}: {_explain(origin, text, problem, block_problems)}")
    try:
        document = _openapi_document(data)
    except SourceError as exc:
        raise SourceError(f"{origin}: {exc}") from None
    return [SourceDocument(origin, origin, "openapi", text, document, digest)]


def _yaml_problem(exc: SpecError) -> str:
    """One line: what the YAML parser found wrong, and where."""
    cause = exc.__cause__
    if isinstance(cause, yaml.MarkedYAMLError) and cause.problem_mark is not None:
        mark = cause.problem_mark
        return f"not valid YAML: {cause.problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(exc).split())


def _not_a_mapping(data: Any) -> str:
    kind = {list: "a list", str: "plain text", type(None): "empty"}.get(
        type(data), f"a single {type(data).__name__} value"
    )
    return f"it is {kind}, not an OpenAPI document (a mapping with 'openapi: 3.x')"


def _openapi_document(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SourceError(_not_a_mapping(data))
    if "swagger" in data and "openapi" not in data:
        raise SourceError(
            f"it is a Swagger {data.get('swagger')} document; only OpenAPI 3.x is supported"
        )
    version = data.get("openapi")
    if version is None:
        keys = ", ".join(str(key) for key in list(data)[:6])
        raise SourceError(
            f"it has no 'openapi' field, so it is not an OpenAPI document (top-level keys: {keys})"
        )
    if not str(version).startswith("3."):
        raise SourceError(f"its 'openapi' version is {version!r}; only 3.x is supported")
    if not isinstance(data.get("paths", {}), dict):
        raise SourceError("its 'paths' is not a mapping of paths to operations")
    return data


def _explain(origin: str, text: str, problem: str, block_problems: list[str]) -> str:
    """Say what a text that is not an OpenAPI document looks like instead."""
    head = text.lstrip()[:500].lower()
    if head.startswith(("<!doctype html", "<html")) or "<html" in head:
        return (
            "looks like an HTML page, not an OpenAPI document or a Markdown docs page "
            "(for a docs.freepik.com page, use its Markdown version: add .md to the address)"
        )
    if block_problems:
        return "a Markdown page whose ```yaml blocks hold no OpenAPI document: " + "; ".join(
            block_problems
        )
    if origin.lower().endswith((".yaml", ".yml", ".json")):
        return problem
    if origin.lower().endswith((".md", ".markdown")) or re.search(
        r"^(#{1,6} \S|```|> )", text, re.MULTILINE
    ):
        return (
            "a Markdown page without a fenced ```yaml block holding an OpenAPI document "
            "(a docs page in the seed's form has one), so not a spec"
        )
    return problem

"""Reading upstream sources: files, docs pages, URLs, and what is not a spec."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from drift_support import CASES, FIXTURES, UPSTREAM_DOCS
from helpers import closed_port

from mockserver.drift.sources import (
    DEFAULT_UPSTREAM,
    SourceError,
    display_name,
    fetch,
    load_source,
    parse_source,
)

MINIMAL = b"openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n"


def test_a_yaml_file_is_one_openapi_document() -> None:
    [document] = load_source(str(CASES / "identical.yaml"))
    assert document.kind == "openapi"
    assert document.document["openapi"] == "3.0.0"
    assert len(document.sha256) == 64


def test_unquoted_ratios_read_as_the_strings_the_schema_means() -> None:
    [document] = load_source(str(CASES / "aspect-ratio-new-value-unquoted.yaml"))
    ratio = document.document["components"]["schemas"]["kling-v3-omni-aspect-ratio"]
    assert ratio["default"] == "16:9"
    assert ratio["enum"] == ["auto", "16:9", "9:16", "1:1", "4:3"]


def test_a_docs_page_yields_the_document_in_its_fenced_yaml_block() -> None:
    [document] = load_source(str(FIXTURES / "docs-page-cfg-scale-max-1.md"))
    assert document.kind == "docs-page"
    assert document.label.endswith(
        "```yaml block 1 (post /v1/ai/reference-to-video/kling-v3-omni-std)"
    )
    assert list(document.document["paths"]) == ["/v1/ai/reference-to-video/kling-v3-omni-std"]
    assert document.text.startswith("openapi: 3.0.0\n")


def test_the_seed_form_docs_page_block_is_taken_byte_for_byte() -> None:
    page = UPSTREAM_DOCS / "freepik-docs-Knguyen-data-5e0ab63-generate-std-video-reference.md"
    [document] = load_source(str(page))
    vendored = Path(__file__).resolve().parent.parent / "openapi" / "kling-v3-omni-std.yaml"
    assert document.text == vendored.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", "the file is empty"),
        (b"\xff\xfe\x00binary", "not a text file"),
        (b"- a\n- b\n", "it is a list, not an OpenAPI document"),
        (b"just some words\n", "it is plain text, not an OpenAPI document"),
        (b"title: x\npaths: {}\n", "no 'openapi' field"),
        (b"swagger: '2.0'\npaths: {}\n", "Swagger 2.0 document; only OpenAPI 3.x"),
        (b"openapi: 2.5.0\n", "only 3.x is supported"),
        (b"openapi: 3.0.0\npaths: [1]\n", "'paths' is not a mapping"),
        (b"<!DOCTYPE html><html><body>Not Found</body></html>", "looks like an HTML page"),
        (
            b"# Title\n\nSome *text*: here.\n\n```\ncode\n```\n",
            "Markdown page without a fenced ```yaml block",
        ),
        (b"# Page\n\n```yaml\n- not: openapi\n```\n", "```yaml blocks hold no OpenAPI document"),
    ],
)
def test_what_is_not_a_spec_gets_a_message_naming_the_file_and_the_problem(
    raw: bytes, problem: str
) -> None:
    with pytest.raises(SourceError) as caught:
        parse_source("upstream.txt", raw)
    assert str(caught.value).startswith("upstream.txt: ")
    assert problem in str(caught.value)


def test_invalid_yaml_says_where() -> None:
    with pytest.raises(
        SourceError,
        match=r"truncated\.yaml: not valid YAML: .* at line 4, "
        r"column 6$",
    ):
        load_source(str(FIXTURES / "not-a-spec" / "truncated.yaml"))


def test_a_missing_file_and_a_folder_are_named() -> None:
    with pytest.raises(SourceError, match=r"^/nonexistent/spec\.yaml: no such file$"):
        load_source("/nonexistent/spec.yaml")
    with pytest.raises(SourceError, match="is a folder"):
        load_source(str(FIXTURES))


def test_a_refused_fetch_names_the_url_and_tries_twice_only() -> None:
    url = f"http://127.0.0.1:{closed_port()}/freepik-api-v1-openapi.yaml"
    with pytest.raises(SourceError) as caught:
        fetch(url, timeout=2, retry_delay=0)
    message = str(caught.value)
    assert message.startswith(f"could not fetch {url}: ConnectError")
    assert "tried 2 times, 2 s timeout each" in message


def test_a_server_error_is_retried_once_then_reported() -> None:
    with respx.mock(base_url="https://specs.example") as mock:
        route = mock.get("/spec.yaml").mock(return_value=httpx.Response(503))
        with pytest.raises(SourceError, match=r"HTTP 503 Service Unavailable \(tried 2 times"):
            fetch("https://specs.example/spec.yaml", retry_delay=0)
    assert route.call_count == 2


def test_a_transient_failure_recovers_on_the_one_retry() -> None:
    with respx.mock(base_url="https://specs.example") as mock:
        route = mock.get("/spec.yaml").mock(
            side_effect=[httpx.ConnectTimeout("slow"), httpx.Response(200, content=MINIMAL)]
        )
        assert fetch("https://specs.example/spec.yaml", retry_delay=0) == MINIMAL
    assert route.call_count == 2


def test_a_client_error_is_not_retried() -> None:
    with respx.mock(base_url="https://specs.example") as mock:
        route = mock.get("/gone.yaml").mock(return_value=httpx.Response(404))
        with pytest.raises(SourceError, match=r"gone\.yaml: HTTP 404 Not Found$"):
            fetch("https://specs.example/gone.yaml", retry_delay=0)
    assert route.call_count == 1


def test_the_default_upstream_is_the_full_spec_address_from_the_facts() -> None:
    assert DEFAULT_UPSTREAM == (
        "https://storage.googleapis.com/fc-freepik-pro-rev1-eu-api-specs/"
        "freepik-api-v1-openapi.yaml"
    )
    with respx.mock as mock:
        mock.get(DEFAULT_UPSTREAM).mock(return_value=httpx.Response(200, content=MINIMAL))
        [document] = load_source(DEFAULT_UPSTREAM)
    assert document.origin == DEFAULT_UPSTREAM


def test_reports_never_show_url_credentials_or_query() -> None:
    shown = display_name("https://user:secret@specs.example:8443/spec.yaml?token=abc#x")
    assert shown == "https://specs.example:8443/spec.yaml"
    with respx.mock as mock:
        mock.get("https://specs.example/spec.yaml").mock(return_value=httpx.Response(500))
        with pytest.raises(SourceError) as caught:
            fetch("https://specs.example/spec.yaml?token=abc", retry_delay=0)
    assert "token" not in str(caught.value)

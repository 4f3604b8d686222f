"""Hostile input: whatever a client sends, the fake answers a documented status with a JSON
body, never a 500, and stays healthy.

Driven through the in-process app (httpx's ASGI transport, with app exceptions turned
into responses as a server would). Malformed headers that httpx would tidy up are sent
as a raw ASGI scope instead. Example counts are moderate for CI; raise them with
``FUZZ_EXAMPLES=1000``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator, MutableMapping
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from conftest import CREATE_PATH, LIST_PATH, VALID_BODY
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mockserver import MockConfig, create_app

API_KEY = "fuzz-key"
AUTH = {"x-freepik-api-key": API_KEY}
MAX_BODY = 64 * 1024

# What each kind of request may be answered with (README, "Hardening and limits").
API_STATUSES = {200, 400, 401, 404, 405, 413}
CREATE_STATUSES = {200, 400, 401, 413}

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class InProcessFake:
    """One app and one event loop for the whole module: examples run one after another."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = create_app(
            MockConfig(api_keys=(API_KEY,), clock="manual", max_body_bytes=MAX_BODY)
        )
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, path, **kwargs))

    def raw(
        self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        """Send exactly these header bytes, as a server would pass them on."""
        return self.loop.run_until_complete(self._raw(method, path, headers, body))

    async def _raw(
        self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 80),
        }
        sent = False
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def receive() -> MutableMapping[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # no disconnect: the client keeps waiting
            raise AssertionError("unreachable")

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, send)
        except Exception:  # what a server would turn into a 500
            return 500, {}, b""
        return started["status"], dict(started.get("headers", [])), b"".join(chunks)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(self.app.state.mock.shutdown())
        self.loop.close()


@pytest.fixture(scope="module")
def fake() -> Iterator[InProcessFake]:
    instance = InProcessFake()
    try:
        yield instance
        # Still healthy after everything the module threw at it.
        assert instance.request("GET", "/_mock/health").json() == {"status": "ok"}
        for view in ("/_mock/tasks", "/_mock/requests", "/_mock/webhooks"):
            assert instance.request("GET", view).status_code == 200, view
        created = instance.request("POST", CREATE_PATH, json=VALID_BODY, headers=AUTH)
        assert created.status_code == 200
    finally:
        instance.close()


def assert_documented(
    response: httpx.Response, allowed: set[int] = API_STATUSES, fake: InProcessFake | None = None
) -> Any:
    """A documented status, a JSON body of the documented shape; returns the body.

    With ``fake``, a created task must also read back through the control API (what
    was stored must be servable, not only accepted)."""
    assert response.status_code != 500, response.text
    assert response.status_code in allowed, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    if response.status_code == 200:
        assert "data" in body
        if fake is not None:
            view = fake.request("GET", f"/_mock/tasks/{body['data']['task_id']}")
            assert view.status_code == 200, view.text
    else:
        assert isinstance(body.get("message"), str) and body["message"]
    return body


# JSON values of every kind: huge integers, NaN and infinities (written as the
# non-standard literals json.dumps emits), lone surrogates, deep-ish nesting.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(exclude_categories=()))
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def request_fields() -> list[str]:
    """The create operation's body fields, as the vendored spec lists them."""
    spec = create_app().state.mock.spec
    for operation in spec:
        schema = operation.request_schema
        if operation.method == "post" and schema is not None:
            return sorted(schema.get("properties", {}))
    raise AssertionError("no create operation in the spec")


FIELDS = request_fields()


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@FUZZ
@given(body=st.binary(max_size=4096))
@example(body=b"\xef\xbb\xbf" + encode(VALID_BODY))  # a UTF-8 byte order mark
@example(body=b"\xff\xfe" + encode(VALID_BODY).decode().encode("utf-16-le"))
@example(body=b'{"video_url": "https://example.com/\xff\xfe.mp4"}')  # invalid UTF-8
@example(body=b"[" * 10_000 + b"]" * 10_000)
@example(body=b'{"video_url": ' + b"[" * 10_000 + b"]" * 10_000 + b"}")
@example(body=b'{"video_url": "https://example.com/a.mp4", "x": ' + b"{" * 5000)
@example(body=b'{"video_url": "https://example.com/a.mp4", "x": ' + b"[" * 300 + b"]" * 300 + b"}")
@example(body=b'{"video_url": "https://example.com/a.mp4", "x": ' + b"[" * 999 + b"]" * 999 + b"}")
@example(body=b'{"video_url": "https://example.com/a.mp4", "cfg_scale": NaN}')
@example(body=b'{"video_url": "https://example.com/a.mp4", "cfg_scale": -Infinity}')
@example(body=b'{"video_url": "https://example.com/a.mp4", "cfg_scale": 1e999}')
@example(body=b'{"video_url": "https://example.com/a.mp4", "cfg_scale": ' + b"9" * 5000 + b"}")
@example(body=b'{"video_url": "https://example.com/a.mp4", "prompt": "\\ud800"}')
@example(body=b"\x00" * 100)
@example(body=b" \t\r\n ")
def test_raw_bytes_body(fake: InProcessFake, body: bytes) -> None:
    headers = {**AUTH, "content-type": "application/json"}
    response = fake.request("POST", CREATE_PATH, content=body, headers=headers)
    assert_documented(response, CREATE_STATUSES, fake)


@FUZZ
@given(value=json_values)
def test_arbitrary_json_body(fake: InProcessFake, value: Any) -> None:
    response = fake.request("POST", CREATE_PATH, content=encode(value), headers=AUTH)
    assert_documented(response, CREATE_STATUSES, fake)


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {}, optional={name: json_values | st.none() | st.text() for name in FIELDS}
    ),
    extra=st.dictionaries(st.text(st.characters(exclude_categories=())), json_values, max_size=3),
)
@example(fields=dict.fromkeys(FIELDS), extra={})  # null in every field
@example(fields=dict.fromkeys(FIELDS, "\u202e\U0001f600\u0000\ufeff"), extra={})  # unicode
@example(fields=dict.fromkeys(FIELDS, 2**200), extra={})  # huge numbers
@example(fields={**VALID_BODY, "prompt": "\U0010ffff" * 2500}, extra={})
def test_every_field_with_every_kind_of_value(
    fake: InProcessFake, fields: dict[str, Any], extra: dict[str, Any]
) -> None:
    body = {**extra, **fields}
    response = fake.request("POST", CREATE_PATH, content=encode(body), headers=AUTH)
    result = assert_documented(response, CREATE_STATUSES, fake)
    if response.status_code == 400 and "invalid_params" in result:
        for item in result["invalid_params"]:
            assert set(item) == {"field", "reason"}


@FUZZ
@given(value=json_values)
def test_duplicate_keys_take_the_last_value(fake: InProcessFake, value: Any) -> None:
    # As PHP's json_decode does: '{"k": A, "k": B}' means '{"k": B}'.
    ((name, valid),) = VALID_BODY.items()
    anything = json.dumps(value, allow_nan=True)
    later = f'{{"{name}": {json.dumps(valid)}, "{name}": {anything}}}'.encode()
    alone = f'{{"{name}": {anything}}}'.encode()
    expected = fake.request("POST", CREATE_PATH, content=alone, headers=AUTH)
    response = fake.request("POST", CREATE_PATH, content=later, headers=AUTH)
    assert assert_documented(response, CREATE_STATUSES, fake).keys() == expected.json().keys()
    assert response.status_code == expected.status_code
    earlier = f'{{"{name}": {anything}, "{name}": {json.dumps(valid)}}}'.encode()
    response = fake.request("POST", CREATE_PATH, content=earlier, headers=AUTH)
    assert_documented(response, {200} if _is_json(anything) else {400})


def _is_json(text: str) -> bool:
    """Strict JSON (no NaN, no lone surrogates), whatever the fake makes of it."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/JSON",
    "application/problem+json",
    "text/plain",
    "text/html; charset=iso-8859-1",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/xml",
    "*/*",
    "",
    ";",
    "application/json; charset=utf-16",
]


@FUZZ
@given(
    content_type=st.sampled_from(CONTENT_TYPES) | st.text(st.characters(max_codepoint=255)),
    body=st.sampled_from([encode(VALID_BODY), b"a=b&c=d", b"<xml/>", b""]),
)
def test_every_content_type(fake: InProcessFake, content_type: str, body: bytes) -> None:
    headers = [
        (b"x-freepik-api-key", API_KEY.encode()),
        (b"content-type", content_type.encode("latin-1")),
    ]
    status, response_headers, raw = fake.raw("POST", CREATE_PATH, headers, body)
    assert status in CREATE_STATUSES, (status, raw)
    assert response_headers[b"content-type"].startswith(b"application/json")
    assert isinstance(json.loads(raw), dict)


header_bytes = st.binary(max_size=300)


@FUZZ
@given(
    api_key=st.none() | header_bytes,
    headers=st.lists(st.tuples(st.binary(min_size=1, max_size=40), header_bytes), max_size=8),
    content_length=st.none() | st.sampled_from([b"abc", b"-1", b"99999999999999999999", b""]),
    path=st.sampled_from([CREATE_PATH, LIST_PATH, LIST_PATH + "/some-id", "/_mock/health"]),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "FOO"]),
)
@example(api_key=b"\xff" * 5000, headers=[], content_length=None, path=CREATE_PATH, method="POST")
def test_arbitrary_headers_and_methods(
    fake: InProcessFake,
    api_key: bytes | None,
    headers: list[tuple[bytes, bytes]],
    content_length: bytes | None,
    path: str,
    method: str,
) -> None:
    sent = [(name.lower(), value) for name, value in headers]
    if api_key is not None:
        sent.append((b"x-freepik-api-key", api_key))
    if content_length is not None:
        sent.append((b"content-length", content_length))
    status, response_headers, raw = fake.raw(method, path, sent, encode(VALID_BODY))
    assert status in API_STATUSES, (status, raw)
    if method != "HEAD":
        assert response_headers[b"content-type"].startswith(b"application/json")
        assert isinstance(json.loads(raw), dict)


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["page", "page_size", "x", ""]) | st.text(max_size=5),
        st.text(st.characters(exclude_categories=()), max_size=30)
        | st.integers().map(str)
        | st.floats().map(str),
        max_size=3,
    )
)
@example(query={"page": "99999999999999999999999", "page_size": "100"})
@example(query={"page": "1e3", "page_size": "NaN"})
def test_list_query(fake: InProcessFake, query: dict[str, str]) -> None:
    encoded = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='', errors='surrogatepass')}" for k, v in query.items()
    )
    response = fake.request("GET", f"{LIST_PATH}?{encoded}", headers=AUTH)
    assert_documented(response, {200, 400})


@FUZZ
@given(
    # "." and ".." are dot segments: the client resolves them to another path (RFC 3986).
    task_id=st.text(st.characters(exclude_categories=()), min_size=1, max_size=200).filter(
        lambda text: text not in (".", "..")
    )
)
@example(task_id="/")  # a trailing slash: not a redirect to the list
def test_task_id(fake: InProcessFake, task_id: str) -> None:
    path = f"{LIST_PATH}/{quote(task_id, safe='', errors='surrogatepass')}"
    response = fake.request("GET", path, headers=AUTH)
    assert_documented(response, {404})


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", [CREATE_PATH + "/", LIST_PATH + "/", "/v1//", "/_mock/health/"])
def test_trailing_slash_is_a_json_404(fake: InProcessFake, method: str, path: str) -> None:
    response = fake.request(method, path, json=VALID_BODY, headers=AUTH)
    assert assert_documented(response, {404, 405})["message"]


@FUZZ
@given(value=json_values)
def test_control_api_bodies(fake: InProcessFake, value: Any) -> None:
    response = fake.request("POST", "/_mock/clock/advance", content=encode(value))
    assert_documented(response, {200, 400})
    response = fake.request("POST", "/_mock/tasks/unknown/status", content=encode(value))
    assert_documented(response, {400, 404})

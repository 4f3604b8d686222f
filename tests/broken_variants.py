"""Deliberately wrong servers: the fake with one thing broken, for the contract suite to catch.

Each is a function with no parameters returning an ASGI app, so the suite can load it
as ``--target asgi:broken_variants:NAME`` (with this folder on ``PYTHONPATH``). They
wrap :func:`mockserver.create_app` from outside; nothing here changes the fake itself.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from contract_tests.targets import DEFAULT_API_KEY
from mockserver import MockConfig, create_app
from mockserver.reasons import Profile
from mockserver.spec import load_yaml, vendored_spec_dir

ASGIApp = Callable[..., Any]
# (request scope, status, parsed JSON body) -> (status, body)
Rewrite = Callable[[dict[str, Any], int, Any], tuple[int, Any]]

_TASK_PATH = re.compile(r"^/v1/ai/reference-to-video/kling-v3-omni/[^/]+$")


def _fake(spec_dir: Path | None = None, profile: Profile = "observed") -> ASGIApp:
    return create_app(
        MockConfig(clock="manual", api_keys=(DEFAULT_API_KEY,), spec_dir=spec_dir, profile=profile)
    )


def _unchanged(scope: dict[str, Any], status: int, body: Any) -> tuple[int, Any]:
    return status, body


class RewriteResponses:
    """ASGI middleware that buffers each HTTP response and lets ``rewrite`` change it."""

    def __init__(
        self, app: ASGIApp, rewrite: Rewrite, drop_headers: tuple[bytes, ...] = ()
    ) -> None:
        self.app = app
        self.rewrite = rewrite
        self.drop_headers = drop_headers

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await self._send(scope, start, b"".join(chunks), send)

        await self.app(scope, receive, capture)

    async def _send(
        self, scope: dict[str, Any], start: dict[str, Any], raw: bytes, send: Any
    ) -> None:
        status: int = start["status"]
        try:
            parsed = json.loads(raw)
            status, body = self.rewrite(scope, status, parsed)
            # An answer left alone keeps its bytes (key order counts: dicts compare without).
            if json.dumps(body) != json.dumps(parsed):
                raw = json.dumps(body, separators=(",", ":")).encode()
        except ValueError:
            pass  # not JSON: leave it alone
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers = [(k, v) for k, v in headers if k.lower() not in self.drop_headers]
        headers.append((b"content-length", str(len(raw)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": raw})


def wrong_401_body() -> ASGIApp:
    """401s say "Unauthorized" instead of the documented "Missing/Invalid API key"."""

    def rewrite(scope: dict[str, Any], status: int, body: Any) -> tuple[int, Any]:
        return (status, {"message": "Unauthorized"}) if status == 401 else (status, body)

    return RewriteResponses(_fake(), rewrite)


def cfg_scale_unchecked() -> ASGIApp:
    """The fake obeying a spec copy whose cfg_scale has no maximum: 5.0 is accepted."""
    folder = Path(tempfile.mkdtemp(prefix="spec-no-cfg-max-"))
    for source in vendored_spec_dir().glob("*.yaml"):
        doc = load_yaml(source.read_bytes())
        for schema in (doc.get("components") or {}).get("schemas", {}).values():
            cfg = (schema.get("properties") or {}).get("cfg_scale")
            if isinstance(cfg, dict):
                cfg.pop("maximum", None)
        (folder / source.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    return _fake(folder)


def first_error_only() -> ASGIApp:
    """A 400 names only the first invalid field, however many there are."""

    def rewrite(scope: dict[str, Any], status: int, body: Any) -> tuple[int, Any]:
        if status == 400 and isinstance(body, dict) and body.get("invalid_params"):
            body = {**body, "invalid_params": body["invalid_params"][:1]}
        return status, body

    return RewriteResponses(_fake(), rewrite)


def status_goes_backwards() -> ASGIApp:
    """After a task was once reported final, later reads say IN_PROGRESS again."""
    reported_final: set[str] = set()

    def rewrite(scope: dict[str, Any], status: int, body: Any) -> tuple[int, Any]:
        if scope["method"] != "GET" or not _TASK_PATH.match(scope["path"]) or status != 200:
            return status, body
        data = body["data"]
        if data["status"] in ("COMPLETED", "FAILED"):
            if data["task_id"] in reported_final:
                return status, {"data": {**data, "status": "IN_PROGRESS", "generated": []}}
            reported_final.add(data["task_id"])
        return status, body

    return RewriteResponses(_fake(), rewrite)


def undocumented_status() -> ASGIApp:
    """Validation errors answer 422 (as many frameworks do) instead of the documented 400."""

    def rewrite(scope: dict[str, Any], status: int, body: Any) -> tuple[int, Any]:
        return (422 if status == 400 else status), body

    return RewriteResponses(_fake(), rewrite)


def spec_profile_fake() -> ASGIApp:
    """Not broken by itself: the fake under --profile spec, which the observed profile's
    checks must tell from the live API (the spec's 401 example, null refused, ...)."""
    return _fake(profile="spec")


def observed_profile_fake() -> ASGIApp:
    """The fake under --profile observed, which the spec profile's checks must tell from
    the spec's examples."""
    return _fake(profile="observed")


def no_request_id() -> ASGIApp:
    """Answers without the x-request-id header the live API sends on every answer."""
    return RewriteResponses(_fake(), _unchanged, drop_headers=(b"x-request-id",))


def create_keys_reordered() -> ASGIApp:
    """The create answer's keys as generated, task_id, status (the order the fake once had)."""

    def rewrite(scope: dict[str, Any], status: int, body: Any) -> tuple[int, Any]:
        if scope["method"] == "POST" and status == 200 and isinstance(body, dict):
            data = body["data"]
            return status, {"data": {k: data[k] for k in ("generated", "task_id", "status")}}
        return status, body

    return RewriteResponses(_fake(), rewrite)


def reasons_in_other_words() -> ASGIApp:
    """Every 400 reason in words of its own, not pydantic's."""

    def rewrite(scope: dict[str, Any], status: int, body: Any) -> tuple[int, Any]:
        if status == 400 and isinstance(body, dict) and body.get("invalid_params"):
            items = [{**item, "reason": "is not valid"} for item in body["invalid_params"]]
            body = {**body, "invalid_params": items}
        return status, body

    return RewriteResponses(_fake(), rewrite)


class SharedTaskStore:
    """ASGI middleware: a GET of a task its family does not know is tried through the
    other family's path too, as if both families shared one task store."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        match = _ANY_TASK_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        other = _OTHER_FAMILY[match["family"]]
        first = await _buffered(self.app, scope, receive)
        if first[0]["status"] == 404:
            path = f"/v1/ai/{other}/kling-v3-omni/{match['task']}"
            first = await _buffered(
                self.app, {**scope, "path": path, "raw_path": path.encode()}, receive
            )
        for message in first:
            await send(message)


_ANY_TASK_PATH = re.compile(
    r"^/v1/ai/(?P<family>reference-to-video|video)/kling-v3-omni/(?P<task>[^/]+)$"
)
_OTHER_FAMILY = {"reference-to-video": "video", "video": "reference-to-video"}


async def _buffered(app: ASGIApp, scope: dict[str, Any], receive: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def capture(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, capture)
    return messages


def shared_task_store() -> ASGIApp:
    """A task of one family is found through the other family's GET (one store for all)."""
    return SharedTaskStore(_fake())


# name -> (the check that must fail, a phrase its report must contain, the profile run)
EXPECTED_REPORTS: dict[str, tuple[str, str, str]] = {
    "wrong_401_body": ("test_missing_key_is_refused[create]", "documented example", "observed"),
    "cfg_scale_unchecked": (
        "test_invalid_requests_are_refused", "cfg_scale) was accepted", "observed"
    ),
    "first_error_only": ("test_every_broken_field_is_named", "does not name", "observed"),
    "status_goes_backwards": ("test_task_lifecycle", "the status went backwards", "observed"),
    "undocumented_status": ("test_invalid_requests_are_refused", "is not documented", "observed"),
    "spec_profile_fake": ("test_wrong_key_is_refused[create]", "220-byte answer", "observed"),
    "no_request_id": ("test_missing_key_is_refused[create]", "x-request-id", "observed"),
    "create_keys_reordered": ("test_valid_requests_are_accepted", "byte for byte", "observed"),
    "reasons_in_other_words": (
        "test_invalid_requests_are_refused", "the reason should be pydantic's", "observed"
    ),
    "shared_task_store": (
        "test_tasks_are_read_only_through_their_own_family", "another family's GET", "observed"
    ),
    "observed_profile_fake": (
        "test_wrong_key_is_refused[create]", "documented example 'invalid_api_key'", "spec"
    ),
}  # fmt: skip


def quick_wall_clock_fake() -> ASGIApp:
    """Not broken: the fake on the wall clock, finishing tasks in a tenth of a second."""
    return create_app(MockConfig(time_scale=0.03, api_keys=(DEFAULT_API_KEY,)))

"""Reference media checks: a bad video or image is accepted with 200 and the task then
ends FAILED, with the reason in the journal and webhook log but never in the API."""

from __future__ import annotations

import contextlib
import http.server
import socket
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import pytest
from helpers import AUTH, CREATE, TASKS, fake_app, loopback_http_server
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette

from mockserver import MockConfig, create_app
from mockserver.media import LIMITS, VIDEO, MediaChecker, _suffix, media_fields
from mockserver.runtime import fixtures_media_dir
from mockserver.spec import load_spec

pytestmark = pytest.mark.anyio

MEDIA = fixtures_media_dir()
OWN = "http://127.0.0.1:8080"  # the in-process client's base URL: the fake's own address
IMAGE_OK = f"{OWN}/_mock/fixtures/image_valid.jpg"

VIDEO_RULES = [
    ("ref_valid.mp4", None),
    ("ref_valid.mov", None),
    ("ref_too_short.mp4", "minimum is 3 s"),
    ("ref_too_long.mp4", "maximum is 10 s"),
    ("ref_low_res.mp4", "at least 720 px"),
    ("ref_low_fps.mp4", "20 fps; the minimum is 24"),
    ("ref_wrong_container.avi", "format"),
]
IMAGE_RULES = [
    ("image_valid.jpg", None),
    ("image_valid.png", None),
    ("image_too_small.png", "minimum is 300x300"),
    ("image_wrong_format.gif", "format"),
]


async def run_task(
    app: Starlette, client: httpx.AsyncClient, **body: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create a task, let its media check and lifecycle finish; (create reply, final)."""
    response = await client.post(CREATE, json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    created = response.json()["data"]
    await app.state.mock.media_checked()
    await client.post("/_mock/clock/advance", json={"seconds": 10})
    final = await client.get(f"{TASKS}/{created['task_id']}", headers=AUTH)
    return created, final.json()["data"]


async def journal_reasons(client: httpx.AsyncClient, task_id: str) -> list[str]:
    entries = (await client.get("/_mock/requests", params={"kind": "transition"})).json()["data"]
    return [e["reason"] for e in entries if e["task_id"] == task_id and "reason" in e]


def checker(mode: str = "probe", **kwargs: Any) -> MediaChecker:
    return MediaChecker(mode, fixtures_dir=MEDIA, media_root=MEDIA, **kwargs)  # type: ignore[arg-type]


FIELDS = media_fields(load_spec().by_id("postAiReferenceToVideoKlingV3OmniStd").request_schema)


def test_the_spec_prose_names_the_media_fields() -> None:
    assert FIELDS == {"video_url": "video", "image_url": "image"}


def test_limits_are_the_documented_ones() -> None:
    video = LIMITS[VIDEO]
    assert (video.min_seconds, video.max_seconds, video.min_fps, video.max_fps) == (3, 10, 24, 60)
    assert video.extensions == (".mp4", ".mov")


@pytest.mark.parametrize(("name", "expected"), VIDEO_RULES)
def test_probe_each_video_rule(name: str, expected: str | None) -> None:
    reason = checker().check(FIELDS, {"video_url": (MEDIA / name).as_uri()})
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason and reason.startswith("video_url: ")


@pytest.mark.parametrize(("name", "expected"), IMAGE_RULES)
def test_probe_each_image_rule(name: str, expected: str | None) -> None:
    params = {"video_url": (MEDIA / "ref_valid.mp4").as_uri(), "image_url": (MEDIA / name).as_uri()}
    reason = checker().check(FIELDS, params)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason and reason.startswith("image_url: ")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/reference.mp4", True),
        ("https://example.com/clip.MOV?sig=1", True),
        ("https://example.com/clip", True),  # no extension: the URL cannot tell
        ("https://example.com/clip.avi", False),
        ("https://example.com/clip.webm", False),
        ("ftp://example.com/clip.mp4", False),
    ],
)
def test_url_mode_video(url: str, ok: bool) -> None:
    reason = checker("url").check(FIELDS, {"video_url": url})
    assert (reason is None) is ok, reason


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://x.com/a.jpg", True),
        ("https://x.com/a.jpeg", True),
        ("https://x.com/a.png", True),
        ("https://x.com/a.gif", False),
    ],
)
def test_url_mode_image(url: str, ok: bool) -> None:
    reason = checker("url").check(FIELDS, {"video_url": "https://x.com/a.mp4", "image_url": url})
    assert (reason is None) is ok, reason


def test_off_mode_accepts_everything() -> None:
    params = {"video_url": "ftp://x/clip.avi", "image_url": (MEDIA / "image_wrong_format.gif")}
    assert checker("off").check(FIELDS, params) is None


def test_file_urls_need_a_media_root_and_stay_under_it(tmp_path: Path) -> None:
    url = (MEDIA / "ref_valid.mp4").as_uri()
    no_root = MediaChecker("probe", fixtures_dir=MEDIA).check(FIELDS, {"video_url": url})
    assert no_root is not None and "no media root" in no_root
    outside = MediaChecker("probe", fixtures_dir=MEDIA, media_root=tmp_path)
    reason = outside.check(FIELDS, {"video_url": url})
    assert reason is not None and "outside the configured media root" in reason
    escape = outside.check(FIELDS, {"video_url": (tmp_path / ".." / "x.mp4").as_uri()})
    assert escape is not None and "outside" in escape


def test_probe_refuses_non_loopback_hosts() -> None:
    reason = checker().check(FIELDS, {"video_url": "https://example.com/reference.mp4"})
    assert reason is not None and "not an allowed source" in reason


def test_unreachable_media_fails() -> None:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        reason = checker().check(FIELDS, {"video_url": f"http://127.0.0.1:{port}/a.mp4"})
    assert reason is not None and "could not be fetched" in reason


def test_oversize_download_fails_at_the_cap() -> None:
    reason = checker(max_download_bytes=1000).check(
        FIELDS, {"video_url": (MEDIA / "ref_valid.mp4").as_uri()}
    )
    assert reason is not None and "download cap of 1000" in reason


@contextlib.contextmanager
def fixture_server() -> Iterator[str]:
    """A loopback HTTP server serving the fixtures folder (a stranger's media host)."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(MEDIA), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback_http_server(Handler) as base_url:
        yield base_url


def test_probe_downloads_from_a_loopback_server() -> None:
    with fixture_server() as base:
        ok = checker().check(FIELDS, {"video_url": f"{base}/ref_valid.mp4"})
        bad = checker().check(FIELDS, {"video_url": f"{base}/ref_low_fps.mp4"})
        missing = checker().check(FIELDS, {"video_url": f"{base}/nothing.mp4"})
        capped = checker(max_download_bytes=1000).check(
            FIELDS, {"video_url": f"{base}/ref_valid.mp4"}
        )
    assert ok is None
    assert bad is not None and "fps" in bad
    assert missing is not None and "HTTP 404" in missing
    assert capped is not None and "download cap" in capped


def test_probe_mode_without_the_libraries_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ValueError, match=r"needs PyAV and Pillow.*freepik-mock\[probe\]"):
        create_app(MockConfig(media_check="probe"))


async def test_fixtures_are_served_without_traversal() -> None:
    async with fake_app() as (_, client):
        ok = await client.get("/_mock/fixtures/ref_valid.mp4")
        assert ok.status_code == 200 and ok.headers["content-type"] == "video/mp4"
        assert ok.content == (MEDIA / "ref_valid.mp4").read_bytes()
        image = await client.get("/_mock/fixtures/image_valid.png")
        assert image.headers["content-type"] == "image/png"
        for bad in ("nothing.mp4", "..%2Fmanifest.py", "MANIFEST.json", "%2E%2E%2F__init__.py"):
            missing = await client.get(f"/_mock/fixtures/{bad}")
            assert missing.status_code == 404, bad
            assert missing.json() == {"message": "Not Found"}


@pytest.mark.parametrize("mode", ["url", "probe"])
async def test_the_eleven_second_fixture_fails_the_task(mode: str) -> None:
    url = f"{OWN}/_mock/fixtures/ref_too_long.mp4" if mode == "probe" else f"{OWN}/clip.avi"
    async with fake_app(media_check=mode) as (app, client):
        created, final = await run_task(app, client, video_url=url)
        assert created == {"generated": [], "task_id": created["task_id"], "status": "CREATED"}
        assert final == {"task_id": created["task_id"], "status": "FAILED", "generated": []}
        reasons = await journal_reasons(client, created["task_id"])
    assert reasons and all(r.startswith("media check: video_url: ") for r in reasons)
    assert ("maximum is 10 s" if mode == "probe" else "'.avi'") in reasons[0]


@pytest.mark.parametrize("name", ["ref_valid.mp4", "ref_valid.mov"])
async def test_the_valid_fixture_completes(name: str) -> None:
    async with fake_app(media_check="probe") as (app, client):
        _, final = await run_task(
            app, client, video_url=f"{OWN}/_mock/fixtures/{name}", image_url=IMAGE_OK
        )
    assert final["status"] == "COMPLETED" and final["generated"]


async def test_a_bad_image_fails_the_task_in_probe_mode() -> None:
    async with fake_app(media_check="probe") as (app, client):
        created, final = await run_task(
            app,
            client,
            video_url=f"{OWN}/_mock/fixtures/ref_valid.mp4",
            image_url=f"{OWN}/_mock/fixtures/image_too_small.png",
        )
        reasons = await journal_reasons(client, created["task_id"])
    assert final["status"] == "FAILED"
    assert reasons and "image_url" in reasons[0] and "300x300" in reasons[0]


async def test_off_mode_completes_a_bad_task() -> None:
    async with fake_app(media_check="off") as (app, client):
        _, final = await run_task(app, client, video_url=f"{OWN}/clip.avi")
    assert final["status"] == "COMPLETED"


async def test_reason_reaches_the_webhook_log_but_no_api_response() -> None:
    received: list[bytes] = []

    async def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request.content)
        return httpx.Response(200)

    async with fake_app(media_check="probe", webhook_transport=httpx.MockTransport(receiver)) as (
        app,
        client,
    ):
        _, final = await run_task(
            app,
            client,
            video_url=f"{OWN}/_mock/fixtures/ref_too_short.mp4",
            webhook_url="http://127.0.0.1:9/hook",
        )
        await client.post("/_mock/webhooks/drain")
        listing = (await client.get(TASKS, headers=AUTH)).text
        log = (await client.get("/_mock/webhooks")).json()["data"]
    failed = [e for e in log if e["event"] == "FAILED"]
    assert failed and "minimum is 3 s" in failed[0]["reason"]
    assert all("reason" not in e for e in log if e["event"] != "FAILED")
    for text in [str(final), listing, *(body.decode() for body in received)]:
        assert "minimum" not in text and "reason" not in text
    assert any(b'"FAILED"' in body for body in received)


@given(st.text(alphabet="/.abcMP4-", max_size=20))
def test_a_url_paths_extension_is_read_as_pathlib_reads_it(path: str) -> None:
    assert _suffix(path) == PurePosixPath(path).suffix

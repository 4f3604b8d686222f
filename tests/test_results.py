"""Result URLs in the CDN's form: signed, expiring on the fake's clock, fresh per read,
built from the host that reads them, and served by the fake (403 once expired or tampered)."""

from __future__ import annotations

import httpx
import pytest
from helpers import AUTH, RESULT_URL, TASKS, advance, client_for, create, fake

from mockserver import MockConfig, create_app
from mockserver.clock import ManualClock
from mockserver.results import ResultUrls

pytestmark = pytest.mark.anyio


def test_a_completed_task_has_one_signed_url_and_others_none() -> None:
    urls = ResultUrls(ManualClock(start=1000.0), ttl=3600)
    [url] = urls.generated("t-1", "COMPLETED", "http://h:1")
    found = RESULT_URL.match(url)
    assert found is not None and found["task_id"] == "t-1" and found["base"] == "http://h:1"
    assert int(found["expires"]) == 4600
    assert urls.generated("t-1", "IN_PROGRESS", "http://h:1") == ()
    assert urls.generated("t-1", "FAILED", "http://h:1") == ()


def test_a_token_is_good_for_its_path_until_it_expires() -> None:
    clock = ManualClock(start=1000.0)
    urls = ResultUrls(clock, ttl=60)
    [url] = urls.generated("t-1", "COMPLETED", "http://h")
    path, _, query = url.removeprefix("http://h").partition("?token=")
    assert urls.allows(path, query)
    assert not urls.allows(path.replace("t-1", "t-2"), query)  # another task's path
    assert not urls.allows(path, query[:-1] + ("0" if query[-1] != "0" else "1"))  # tampered
    assert not urls.allows(path, query.replace("exp=1060", "exp=9999"))  # longer life
    assert not ResultUrls(clock, ttl=60).allows(path, query)  # another fake's key
    clock.advance(60)
    assert urls.allows(path, query)
    clock.advance(1)
    assert not urls.allows(path, query)


async def _completed(client: httpx.AsyncClient, **body: str) -> str:
    task = await create(client, **body)
    await advance(client, 10)
    return str(task["task_id"])


async def test_the_url_serves_the_video_of_the_tasks_aspect_ratio_until_it_expires() -> None:
    async with fake(result_url_ttl=120) as client:
        task_id = await _completed(client, aspect_ratio="9:16")
        done = await client.get(f"{TASKS}/{task_id}", headers=AUTH)
        [url] = done.json()["data"]["generated"]
        video = await client.get(url)
        await advance(client, 121)
        expired = await client.get(url)
        fresh = (await client.get(f"{TASKS}/{task_id}", headers=AUTH)).json()["data"]
        again = await client.get(fresh["generated"][0])
    assert (video.status_code, video.headers["content-type"]) == (200, "video/mp4")
    assert video.content[4:8] == b"ftyp"
    assert expired.status_code == 403 and "Access Denied" in expired.text
    assert fresh["generated"][0] != url  # each read hands out a fresh URL
    assert again.status_code == 200 and again.content == video.content


async def test_a_tampered_or_unsigned_url_is_refused() -> None:
    async with fake() as client:
        task_id = await _completed(client)
        [url] = (await client.get(f"{TASKS}/{task_id}", headers=AUTH)).json()["data"]["generated"]
        tampered = await client.get(url[:-4] + "0000")
        unsigned = await client.get(url.split("?")[0])
        other_task = await client.get(url.replace(task_id, "0" * 8))
    assert [a.status_code for a in (tampered, unsigned, other_task)] == [403, 403, 403]


async def test_urls_are_built_from_the_host_that_reads_them() -> None:
    app = create_app(MockConfig(clock="manual"))
    async with client_for(app) as client:
        task_id = await _completed(client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://moved:9999") as moved:
        [url] = (await moved.get(f"{TASKS}/{task_id}", headers=AUTH)).json()["data"]["generated"]
        served = await moved.get(url)
    await app.state.mock.shutdown()
    assert url.startswith("http://moved:9999/_mock/cdn/")
    assert served.status_code == 200


async def test_the_control_api_shows_signed_urls_too() -> None:
    async with fake() as client:
        task_id = await _completed(client)
        view = (await client.get(f"/_mock/tasks/{task_id}")).json()["data"]
        served = await client.get(view["generated"][0])
    assert served.status_code == 200


def test_the_lifetime_must_be_positive() -> None:
    for ttl in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="result_url_ttl"):
            MockConfig(result_url_ttl=ttl)

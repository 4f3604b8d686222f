"""Replicas and workers as users run them: ``freepik-mock serve`` processes on one Redis
(or workers on one SQLite file), 16 clients at once, one replica killed with SIGKILL in
the middle of the lifecycle, and a webhook receiver counting what arrives."""

from __future__ import annotations

import contextlib
import http.server
import json
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import CREATE_PATH, LIST_PATH, VALID_BODY, ServedFake, serve_fake
from helpers import loopback_http_server

pytestmark = pytest.mark.slow

KEY = {"x-freepik-api-key": "replica-key"}
CLIENTS = 16
# Short lifecycle and lease, so that a run takes seconds.
LIFECYCLE = ("--in-progress-after", "1", "--complete-after", "3", "--webhook-timeout", "1")


@dataclass
class Counting:
    """A receiver that holds each webhook a while (so some are in flight when a replica
    dies) and keeps every POST by webhook-id."""

    url: str = ""
    posts: list[tuple[str, str, str]] = field(default_factory=list)  # (id, task, status)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> dict[tuple[str, str], set[str]]:
        """(task, status) -> the webhook-ids it came with."""
        found: dict[tuple[str, str], set[str]] = defaultdict(set)
        with self.lock:
            for webhook_id, task_id, status in self.posts:
                found[task_id, status].add(webhook_id)
        return found

    def first_arrivals(self) -> list[tuple[str, str]]:
        seen: dict[str, tuple[str, str]] = {}
        with self.lock:
            for webhook_id, task_id, status in self.posts:
                seen.setdefault(webhook_id, (task_id, status))
        return list(seen.values())


@pytest.fixture
def counting() -> Iterator[Counting]:
    state = Counting()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            with state.lock:
                state.posts.append((self.headers["webhook-id"], body["task_id"], body["status"]))
            time.sleep(0.2)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback_http_server(Handler) as base_url:
        state.url = base_url + "/hook"
        yield state


def _create(url: str, hook: str) -> str:
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
        response = client.post(CREATE_PATH, json={**VALID_BODY, "webhook_url": hook}, headers=KEY)
        assert response.status_code == 200, response.text
        task_id: str = response.json()["data"]["task_id"]
        return task_id


def _status(url: str, task_id: str) -> str:
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
        response = client.get(f"{LIST_PATH}/{task_id}", headers=KEY)
        assert response.status_code == 200, response.text
        status: str = response.json()["data"]["status"]
        return status


def _wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _exactly_once(counting: Counting, ids: list[str]) -> None:
    """Every task's two webhooks arrived, each event under one webhook-id, in order."""
    expected = {(t, s) for t in ids for s in ("IN_PROGRESS", "COMPLETED")}
    try:
        _wait(lambda: set(counting.events()) >= expected, 30, "every webhook")
    except AssertionError:
        missing = expected - set(counting.events())
        example = sorted(missing)[:3]
        raise AssertionError(f"{len(missing)} webhooks never arrived, e.g. {example}") from None
    time.sleep(1.0)  # anything sent twice would have arrived by now
    events = counting.events()
    assert set(events) == expected
    twice = {event: found for event, found in events.items() if len(found) != 1}
    assert twice == {}, "an event went out under two webhook-ids"
    order = [status for _, status in counting.first_arrivals()]
    assert len(order) == len(expected)
    for task_id in ids:
        statuses = [s for t, s in counting.first_arrivals() if t == task_id]
        assert statuses == ["IN_PROGRESS", "COMPLETED"]


def test_three_replicas_on_redis_survive_one_killed_mid_lifecycle(
    tmp_path: Path, redis_url: str, counting: Counting
) -> None:
    args = ("--state", redis_url, *LIFECYCLE)
    with contextlib.ExitStack() as stack:
        replicas: list[ServedFake] = [
            stack.enter_context(serve_fake(tmp_path, *args)) for _ in range(3)
        ]
        urls = [replica.url for replica in replicas]
        with ThreadPoolExecutor(CLIENTS) as pool:
            ids = list(pool.map(lambda i: _create(urls[i % 3], counting.url), range(48)))
            # A create on one replica is read through another.
            read = list(pool.map(lambda i: _status(urls[(i + 1) % 3], ids[i]), range(48)))
        assert set(read) <= {"CREATED", "IN_PROGRESS", "COMPLETED"}
        # Mid-lifecycle, deliveries in flight (the receiver holds each 0.2 s): kill one.
        _wait(lambda: len(counting.posts) >= 10, 10, "the first webhooks")
        replicas[2].process.send_signal(signal.SIGKILL)
        assert replicas[2].process.wait(10) == -signal.SIGKILL
        survivors = urls[:2]
        _wait(
            lambda: all(_status(survivors[0], t) == "COMPLETED" for t in ids),
            30,
            "every task to complete",
        )
        _exactly_once(counting, ids)
        with httpx.Client(base_url=survivors[1], trust_env=False) as client:
            journal = client.get("/_mock/requests", params={"kind": "transition"}).json()["data"]
            log = client.get("/_mock/webhooks").json()
        assert Counter((e["task_id"], e["status"]) for e in journal) == {
            (t, s): 1 for t in ids for s in ("IN_PROGRESS", "COMPLETED")
        }
        assert log["pending"] == 0
        # Each delivery ended delivered (a slow attempt may have been retried: same id).
        last = {entry["webhook_id"]: entry["outcome"] for entry in log["data"]}
        assert set(last.values()) == {"delivered"}
        for replica in replicas[:2]:
            assert replica.stop() == 0


def test_workers_on_one_sqlite_file_serve_one_fake(tmp_path: Path, counting: Counting) -> None:
    state = tmp_path / "state.db"
    with serve_fake(tmp_path, "--state", str(state), "--workers", "3", *LIFECYCLE) as fake:
        with ThreadPoolExecutor(CLIENTS) as pool:
            ids = list(pool.map(lambda _: _create(fake.url, counting.url), range(48)))
        _wait(
            lambda: all(_status(fake.url, t) == "COMPLETED" for t in ids),
            30,
            "every task to complete",
        )
        _exactly_once(counting, ids)
        with fake.client() as client:
            listed = client.get(LIST_PATH, params={"page_size": 100}, headers=KEY).json()["data"]
            assert sorted(item["task_id"] for item in listed) == sorted(ids)
        assert "served by 3 worker processes" in fake.output()
        assert fake.stop() == 0


def test_workers_with_memory_state_are_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as refused, serve_fake(tmp_path, "--workers", "2"):
        pass
    message = str(refused.value)
    assert "--workers 2 needs shared state: give --state a SQLite file or a redis://" in message
    assert "Traceback" not in message

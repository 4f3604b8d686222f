"""Reads kept in memory (``redis_tracking.py``) and the link a process's namespaces share
(``redis_state.RedisLink``), against a real redis-server: a kept read is never older than
a change another process made, and it spares the round trip while nothing changed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mockserver import MockConfig, create_app
from mockserver.redis_state import RedisBackend, RedisLink
from mockserver.redis_tracking import TrackedReads, _frame, _Incomplete
from mockserver.tasks import CREATED, IN_PROGRESS, Task

redis = pytest.importorskip("redis")


def _task(task_id: str = "t1", status: str = CREATED) -> Task:
    return Task(
        task_id=task_id,
        owner="o",
        status=status,
        created_at=1.0,
        updated_at=1.0,
        outcome="COMPLETED",
        aspect_ratio=None,
        webhook_url=None,
        base_url="http://testserver",
        request_json="{}",
        failure_reason=None,
        family="f",
    )


@pytest.fixture
def other(redis_url: str) -> Iterator[Any]:
    """A plain redis-py client: another process's writes."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def backend(redis_url: str) -> Iterator[RedisBackend]:
    found = RedisBackend(redis_url, "ns", lease=5.0)
    yield found
    found.close()


def _calls(client: Any, command: str) -> int:
    stats = client.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0))


def _eventually(check: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Invalidations travel on their own connection: a change made by another client
    (not this process) is seen once Redis's message has arrived, within milliseconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.005)
    return check()


def test_a_kept_read_costs_no_round_trip(backend: RedisBackend, other: Any) -> None:
    backend.add_task(_task(), due=None)
    assert backend.get_task("t1") == _task()
    assert backend.fault_count() == 0
    before = (_calls(other, "hgetall"), _calls(other, "hlen"))
    for _ in range(50):
        assert backend.get_task("t1") == _task()
        assert backend.fault_count() == 0
    assert (_calls(other, "hgetall"), _calls(other, "hlen")) == before


def test_another_clients_change_is_seen(backend: RedisBackend, other: Any) -> None:
    backend.add_task(_task(), due=None)
    assert backend.get_task("t1").status == CREATED  # type: ignore[union-attr]
    assert backend.faults() == []
    other.hset(backend.keys.task("t1"), "status", IN_PROGRESS)
    other.hset(backend.keys("faults"), "7", '{"id": 7, "times": 1}')
    assert _eventually(lambda: backend.get_task("t1").status == IN_PROGRESS)  # type: ignore[union-attr]
    assert _eventually(lambda: backend.faults() == [{"id": 7, "times": 1}])


def test_a_backend_of_another_link_sees_changes_at_once(redis_url: str) -> None:
    """Two processes' backends (two links): the one that changed a key has heard back
    from Redis before the other reads, as a client asking one replica then another."""
    first = RedisBackend(redis_url, "ns", lease=5.0)
    second = RedisBackend(redis_url, "ns", lease=5.0)
    try:
        first.add_task(_task(), due=5.0)
        assert second.get_task("t1") == _task()
        assert second.next_task_due() == 5.0
        assert first.move(_task(), _task(status=IN_PROGRESS), 9.0, None, None)
        assert _eventually(lambda: second.get_task("t1") == _task(status=IN_PROGRESS))
        assert second.next_task_due() == 9.0
        first.fault_add({"method": "*", "path": "*", "times": 1, "matched": 0})
        assert _eventually(lambda: second.fault_count() == 1)
    finally:
        first.close()
        second.close()


def test_own_writes_are_read_back_at_once(backend: RedisBackend) -> None:
    assert backend.fault_count() == 0
    assert backend.next_task_due() is None
    fault = backend.fault_add({"method": "*", "path": "*", "times": 1, "matched": 0})
    assert backend.fault_count() == 1  # no wait: forgotten by the write itself
    backend.add_task(_task(), due=3.0)
    assert backend.next_task_due() == 3.0
    assert backend.get_task("t1") == _task()
    assert backend.set_outcome("t1", "FAILED", "why")
    assert backend.get_task("t1").outcome == "FAILED"  # type: ignore[union-attr]
    assert backend.fault_use(fault["id"]) is not None
    assert backend.fault_count() == 0


def test_a_flush_forgets_everything(backend: RedisBackend, other: Any) -> None:
    backend.add_task(_task(), due=None)
    assert backend.get_task("t1") is not None
    other.flushdb()
    assert _eventually(lambda: backend.get_task("t1") is None)


def test_a_lost_tracking_connection_never_leaves_reads_stale(
    backend: RedisBackend, other: Any
) -> None:
    backend.add_task(_task(), due=None)
    assert backend.get_task("t1") == _task()
    tracked = backend.link.tracked
    assert tracked.active
    # Kill our tracking connection (flag t), then change the task: no news will come.
    trackers = [c["id"] for c in other.client_list() if "t" in c.get("flags", "")]
    assert len(trackers) == 1
    other.client_kill_filter(_id=trackers[0])
    other.hset(backend.keys.task("t1"), "status", IN_PROGRESS)
    assert backend.get_task("t1").status == IN_PROGRESS  # type: ignore[union-attr]
    assert not tracked.active  # until it is opened again, a second later


def test_a_tls_url_keeps_nothing() -> None:
    tracked = TrackedReads("rediss://127.0.0.1:1/0")
    tracked.watch("fm:x:")
    fetched = []
    for _ in range(2):
        tracked.get("fm:x:a", lambda: fetched.append(1))
    assert len(fetched) == 2
    assert not tracked.active


def test_namespaces_of_one_app_share_one_link(redis_url: str) -> None:
    app = create_app(MockConfig(state=redis_url))
    namespaces = app.state.namespaces
    links = {id(namespaces.get(name).state.backend.link) for name in ("default", "a", "b")}
    assert len(links) == 1
    assert isinstance(namespaces.get("a").state.backend.link, RedisLink)
    for runtime in namespaces:
        runtime.state.close()


def test_move_many_moves_each_only_from_its_status(backend: RedisBackend) -> None:
    backend.add_task(_task("a"), due=1.0)
    backend.add_task(_task("b", IN_PROGRESS), due=1.0)
    done = backend.move_many(
        [
            (_task("a"), _task("a", IN_PROGRESS), 2.0, None, {"kind": "transition"}),
            (_task("b"), _task("b", IN_PROGRESS), 2.0, None, {"kind": "transition"}),
        ]
    )
    assert done == [True, False]
    assert backend.get_task("a") == _task("a", IN_PROGRESS)
    assert backend.get_task("b") == _task("b", IN_PROGRESS)
    assert [entry["kind"] for entry in backend.journal_entries()] == ["transition"]


def test_scripts_redis_forgot_are_sent_again(backend: RedisBackend, other: Any) -> None:
    other.script_flush()
    backend.journal_append({"kind": "note"})
    backend.add_task(_task(), due=None)
    assert [e["kind"] for e in backend.journal_entries()] == ["note"]
    assert backend.get_task("t1") == _task()


def test_frames_split_anywhere_wait_for_the_rest() -> None:
    push = b">2\r\n$10\r\ninvalidate\r\n*1\r\n$4\r\nfm:a\r\n"
    assert _frame(push, 0) == (["invalidate", ["fm:a"]], len(push), True)
    for cut in range(len(push)):
        with pytest.raises(_Incomplete):
            _frame(push[:cut], 0)
    assert _frame(b"%1\r\n+a\r\n:1\r\n", 0)[0] == {"a": 1}
    assert _frame(b">2\r\n$10\r\ninvalidate\r\n_\r\n", 0)[0] == ["invalidate", None]

"""The request journal: what clients sent and what the fake answered, bounded, keyless."""

from __future__ import annotations

from typing import Any

from mockserver.clock import ManualClock
from mockserver.constants import REQUEST_ID_KEY
from mockserver.journal import BODY_LIMIT, Journal
from mockserver.tasks import Transition

KEY_HEADER = "x-freepik-api-key"


def scope(path: str = "/v1/x", *, key: bytes | None = None, query: bytes = b"") -> dict[str, Any]:
    headers = [(b"content-type", b"application/json")]
    if key is not None:
        headers.append((KEY_HEADER.encode(), key))
    return {"method": "POST", "path": path, "query_string": query, "headers": headers}


def transition(task_id: str, status: str, reason: str | None = None) -> Transition:
    return Transition(task_id, "CREATED", status, 1005.0, reason, None, "http://h")


def test_a_request_is_noted_with_its_answer_and_never_its_key() -> None:
    journal = Journal(ManualClock(start=1000.0), secret_headers=frozenset({KEY_HEADER}))
    noted = {**scope(key=b"k-secret", query=b"page=2"), REQUEST_ID_KEY: "ak-" + "0" * 32}
    journal.record_request(noted, 200, b'{"a":1}')
    journal.record_request(scope(key=b""), 401, b"")
    journal.record_request(scope(), 401, b"")
    sent, empty, missing = journal.entries()
    assert sent == {
        "kind": "request",
        "method": "POST",
        "path": "/v1/x",
        "query": "page=2",
        "status": 200,
        "api_key": "sent",
        "body": '{"a":1}',
        "id": 1,
        "at": 1000.0,
        "request_id": "ak-" + "0" * 32,  # the x-request-id the answer carried
    }
    assert (empty["api_key"], missing["api_key"]) == ("missing", "missing")
    assert "k-secret" not in repr(journal.entries())


def test_bodies_are_cut_to_the_limit_and_undecodable_bytes_replaced() -> None:
    journal = Journal(ManualClock(start=0.0))
    journal.record_request(scope(), 200, b"x" * (BODY_LIMIT + 100))
    journal.record_request(scope(), 400, b"\xff{")
    long, binary = journal.entries()
    assert len(long["body"]) == BODY_LIMIT
    assert binary["body"] == "\ufffd{"


def test_transitions_are_noted_with_a_failure_reason_only_when_there_is_one() -> None:
    journal = Journal(ManualClock(start=0.0))
    journal.on_transition(transition("t1", "IN_PROGRESS"))
    journal.on_transition(transition("t1", "FAILED", "media check: too short"))
    moved, failed = journal.entries(kind="transition")
    assert moved == {
        "kind": "transition",
        "task_id": "t1",
        "from": "CREATED",
        "status": "IN_PROGRESS",
        "at": 1005.0,
        "id": 1,
    }
    assert failed["reason"] == "media check: too short"


def test_entries_filter_by_kind_and_keep_the_latest_with_a_limit() -> None:
    clock = ManualClock(start=0.0)
    journal = Journal(clock)
    for index in range(5):
        clock.advance(1)
        journal.record_request(scope(f"/v1/{index}"), 200, b"")
        journal.on_transition(transition(f"t{index}", "IN_PROGRESS"))
    journal.record({"kind": "media_check", "task_id": "t0", "reason": "bad"})
    assert [e["path"] for e in journal.entries(limit=2, kind="request")] == ["/v1/3", "/v1/4"]
    assert len(journal.entries(kind="transition")) == 5
    assert journal.entries(kind="media_check") == [
        {"kind": "media_check", "task_id": "t0", "reason": "bad", "id": 11, "at": 5.0}
    ]
    ids = [entry["id"] for entry in journal.entries()]
    assert ids == sorted(ids) and len(ids) == 11


def test_the_journal_keeps_the_most_recent_size_entries() -> None:
    journal = Journal(ManualClock(start=0.0), size=3)
    for index in range(10):
        journal.record_request(scope(f"/v1/{index}"), 200, b"")
    assert [e["path"] for e in journal.entries()] == ["/v1/7", "/v1/8", "/v1/9"]


def test_clear_forgets_everything_but_ids_keep_counting() -> None:
    journal = Journal(ManualClock(start=0.0))
    journal.record_request(scope(), 200, b"")
    journal.clear()
    assert journal.entries() == []
    journal.record_request(scope(), 200, b"")
    assert journal.entries()[0]["id"] == 2

"""The benchmark's load generators count what they are answered, exactly."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
from collections.abc import Iterator

import pytest

from benchmarks.load import (
    LoadResult,
    Request,
    builtin_load,
    parse_wrk_output,
    percentile,
    send_count,
    wrk_load,
    wrk_script,
)


@contextlib.contextmanager
def alternating_server() -> Iterator[tuple[int, list[int]]]:
    """A keep-alive HTTP server on loopback answering 200, 400, 200, 400, ...

    Yields its port and the list of bodies' lengths it received."""
    loop = asyncio.new_event_loop()
    seen: list[int] = []
    counter = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                seen.append(len(await reader.readexactly(length)))
                counter[0] += 1
                status = b"200 OK" if counter[0] % 2 else b"400 Bad Request"
                body = b'{"ok":true}'
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\ncontent-length: %d\r\n\r\n" % len(body) + body
                )
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield port, seen
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


REQUEST = Request("POST", "/x", {"content-type": "application/json"}, b'{"a":"\\u00e9"}')


def test_send_count_sends_exactly_that_many_and_counts_each_status() -> None:
    with alternating_server() as (port, seen):
        result = send_count(port, REQUEST, 101, connections=4, timeout=30)
    assert result.requests == 101 == len(seen)
    assert set(seen) == {len(REQUEST.body)}
    assert result.statuses == {200: 51, 400: 50}
    assert result.unexpected_share(200) == pytest.approx(50 / 101)
    assert result.generator == "built-in"


def test_builtin_load_runs_for_its_time_and_reports_latency() -> None:
    with alternating_server() as (port, _):
        result = builtin_load(port, REQUEST, connections=2, seconds=0.3)
    assert result.requests > 0 and result.socket_errors == 0
    assert 0 < result.p50_ms <= result.p99_ms
    assert result.rps == pytest.approx(result.requests / result.seconds)


def test_nothing_listening_counts_as_unexpected() -> None:
    with alternating_server() as (port, _):
        pass  # the port is closed again
    result = builtin_load(port, REQUEST, connections=3, seconds=0.2)
    assert result.requests == 0
    assert result.socket_errors == 3
    assert result.unexpected_share(200) == 1.0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 99) == 0.0


def test_wrk_script_escapes_the_body_for_lua() -> None:
    script = wrk_script(Request("POST", "/x", {"k": 'a"b'}, b'{"q":"\\\\"}'))
    assert 'wrk.headers["k"] = "a\\034b"' in script
    assert 'wrk.body = "{\\034q\\034:\\034\\092\\092\\034}"' in script


def test_wrk_output_is_read_from_its_json_line() -> None:
    output = (
        "Running 1s test\n"
        'BENCH-JSON {"requests":10,"micros":2000000,"p50_us":1500,"p99_us":9000,'
        '"socket_errors":1,"statuses":{"200":7,"503":2}}\n'
    )
    result = parse_wrk_output(output)
    assert result == LoadResult(10, 2.0, 1.5, 9.0, {200: 7, 503: 2}, 1, "wrk")
    assert result.rps == 5.0
    assert result.unexpected_share(200) == pytest.approx(3 / 10)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_counts_statuses_through_the_generated_script() -> None:
    wrk = shutil.which("wrk")
    assert wrk is not None
    with alternating_server() as (port, seen):
        result = wrk_load(wrk, port, REQUEST, connections=2, seconds=1)
    # wrk does not count the requests still in flight when its time is up.
    assert 0 < result.requests <= len(seen) <= result.requests + 2
    assert sum(result.statuses.values()) == result.requests
    assert abs(result.statuses.get(200, 0) - result.statuses.get(400, 0)) <= 2

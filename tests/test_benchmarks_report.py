"""The results say each figure's ratio and, in a full run, each target's verdict; the
quick run shows figures only."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from benchmarks.beyond import ContractSpeed, InProcess, Startup, StoredTasks
from benchmarks.cells import CELLS, Target
from benchmarks.load import LoadResult
from benchmarks.report import Report, at_least, at_most, render, write_chart
from benchmarks.suite import BARE, FAKE, MOCKOON, PRISM_SILENT, WIREMOCK, SocketResults

MIB = 1024 * 1024

# Made-up req/s per cell: fake, Prism -v silent, WireMock, Mockoon, bare. Valid POST meets
# both its targets exactly (3x Prism, 1.5x WireMock); GET by id misses both (4x, 1.33x).
RPS = {
    "valid_post": (9000, 3000, 6000, 1000, 15000),
    "invalid_post": (6000, 2000, 4000, 1000, 15000),
    "get_by_id": (12000, 3000, 9000, 1200, 15000),
    "get_list": (10000, 3000, 8000, 1100, 15000),
}


def result(rps: float, p99: float, statuses: dict[int, int] | None = None) -> LoadResult:
    requests = int(rps * 2)
    return LoadResult(requests, 2.0, p99 / 4, p99, statuses or {200: requests})


def make_report(judged: bool = True) -> Report:
    everything_200 = {c.key: 200 for c in CELLS}
    targets = [
        Target(FAKE, "freepik-mock serve", {"seed": 1}),
        Target(PRISM_SILENT, "Prism -v silent", {"seed": 2, "tasks": 3}),
        Target(WIREMOCK, "WireMock", {"seed": 4}),
        Target(MOCKOON, "Mockoon CLI", {"seed": 5, "tasks": 6}, expected=everything_200),
        Target(BARE, "bare Starlette", {"seed": 7}, expected=everything_200),
    ]
    socket = SocketResults(targets, (64,), rounds=2, seconds=2, generator="wrk")
    for cell in CELLS:
        for target, rps in zip(targets, RPS[cell.key], strict=True):
            status = target.expected_status(cell)
            for _ in range(2):
                # CPU seconds for the cell's requests: 1e6 / req/s µs each, as if one core.
                load = result(rps, 5.0, {status: int(rps * 2)})
                socket.add(target, cell, 64, load, cpu_seconds=load.requests / rps)
    return Report(
        title="test",
        command="python -m benchmarks",
        mode="test",
        date="2026-01-01 00:00 UTC",
        machine={"cores": "2"},
        versions={"Python": "3"},
        shared_machine_note="shared",
        socket=socket,
        startup={
            FAKE: Startup([0.2, 0.3, 0.25], 40 * MIB),
            PRISM_SILENT: Startup([0.8, 0.8, 0.8], 150 * MIB),
            WIREMOCK: Startup([1.1, 1.0, 1.2], 104 * MIB),
            MOCKOON: Startup([0.7], 113 * MIB),
            BARE: Startup([0.1], 31 * MIB),
        },
        stored=StoredTasks(
            count=100_000,
            fill_seconds=10,
            fill_unexpected=0,
            rss_before=40 * MIB,
            rss_after=120 * MIB,
            p99_empty={"valid_post": [5.0, 6.0]},
            p99_full={"valid_post": [6.0, 7.0]},
            rps_empty={"valid_post": [9000.0]},
            rps_full={"valid_post": [8800.0]},
        ),
        inprocess=InProcess(
            calls=10,
            asgi_transport={"valid_post": 200.0},
            respx_route={"valid_post": 400.0},
            app_only_fake={"valid_post": 40.0},
            app_only_bare={"valid_post": 6.0},
            kit_async={"valid_post": 300.0},
            kit_sync={"valid_post": 380.0},
        ),
        judged=judged,
    )


def test_verdicts_say_met_or_the_distance() -> None:
    assert at_least(3.0, 2.5, str).text == "met"
    assert at_least(2.0, 2.5, lambda v: f"{v:.1f}x").text == "missed by 0.5x"
    assert at_most(0.5, 0.2, lambda v: f"{v:.1f}x").text == "missed by 0.3x"
    assert at_most(0.5, 0.2, lambda v: f"{v:.1f}x").measured == "0.5x"
    assert at_most(None, 1, str).met is None


def test_every_server_has_its_column_of_figures() -> None:
    text = render(make_report())
    assert (
        "| cell | conns | freepik-mock serve req/s | Prism -v silent req/s | WireMock req/s "
        "| Mockoon CLI req/s | bare Starlette req/s |" in text
    )
    assert "| valid POST | 64 | 9,000 | 3,000 | 6,000 | 1,000 | 15,000 |" in text
    # Mockoon validates nothing: its invalid create is expected to answer 200.
    assert "| invalid POST (4 violations) | 64 | 0.00% (400) | 0.00% (400) | 0.00% (400) " in text
    assert "| 0.00% (200) | 0.00% (200) |" in text


def test_cpu_time_per_request_is_shown_for_every_server() -> None:
    text = render(make_report())
    assert "## CPU time per request" in text
    # 1 s of CPU per 9,000 requests is 111 µs each; per 15,000, 67 µs.
    assert "| valid POST | 64 | 111 µs | 333 µs | 167 µs | 1000 µs | 67 µs |" in text


def test_ratios_carry_the_targets_against_prism_and_wiremock_only() -> None:
    report = make_report()
    text = render(report)
    assert (
        "| valid POST | 64 | 3.00x | >= 3.0x: met | 1.50x | >= 1.5x: met | 9.00x | 0.60x |" in text
    )
    # No target for the invalid create or the list; none against Mockoon or bare.
    assert "| invalid POST (4 violations) | 64 | 3.00x | — | 1.50x | — | 6.00x | 0.40x |" in text
    assert "GET by id at 64 connections: fake / Prism -v silent >= 4.5x: missed by 0.50x" in text
    assert "GET by id at 64 connections: fake / WireMock >= 1.5x: missed by 0.17x" in text
    judged = [what for what, _ in report.verdicts]
    assert not [what for what in judged if "Mockoon" in what or "bare" in what]


def test_start_up_and_memory_of_every_server_beside_prism() -> None:
    report = make_report()
    text = render(report)
    # 0.25 s against 0.8 s is 0.31x of Prism's: over the 0.25x target.
    assert "0.31x (<= 0.25x: missed by 0.06x)" in text
    assert "0.27x (<= 0.33x: met)" in text
    assert "| WireMock | 1.10 s (1.00 s-1.20 s) | 104.0 MiB | 1.38x | 0.69x |" in text
    assert "| Mockoon CLI | 0.70 s | 113.0 MiB | 0.87x | 0.75x |" in text
    assert "start-up <= 0.25x Prism's: missed by 0.06x" in text


def test_the_targets_section_lists_each_target_with_what_was_measured() -> None:
    report = make_report()
    text = render(report)
    # 2 against Prism, 2 against WireMock, start-up, idle RSS, the store's RSS and p99,
    # three in-process calls (the kit's harness with an async and a sync client, httpx's
    # ASGI transport).
    assert len(report.verdicts) == 11
    met = sum(1 for _, verdict in report.verdicts if verdict.met)
    assert f"{met} of 11 targets met." in text
    assert "| 100,000 stored tasks cost <= 60 MiB | 80.0 MiB | missed by 20.0 MiB |" in text
    assert "httpx.AsyncClient, valid POST) <= 350 µs | 300 µs | met |" in text
    assert "httpx.Client, valid POST) <= 350 µs | 380 µs | missed by 30 µs |" in text
    # A generic respx route is how respx costs, not how users call the fake: no target.
    assert (
        "| in-process call, a generic respx route forwarding to httpx ASGITransport, "
        "valid POST | 400 µs | — | none set (reported) |" in text
    )
    # Rendering again (RESULTS.md is a second rendering) does not count twice.
    render(report)
    assert len(report.verdicts) == 11


def test_a_quick_report_shows_figures_and_no_verdict() -> None:
    report = make_report(judged=False)
    text = render(report)
    assert "| valid POST | 64 | 9,000 | 3,000 | 6,000 | 1,000 | 15,000 |" in text
    assert "| valid POST | 64 | 3.00x | 1.50x | 9.00x | 0.60x |" in text
    assert "| RSS cost of 100,000 stored tasks" in text
    assert re.search(r"\b(met|missed)\b", text, re.IGNORECASE) is None
    assert report.verdicts == []


def test_a_failure_quoted_in_a_cell_does_not_split_the_row() -> None:
    report = make_report()
    report.contract = ContractSpeed(300, None, "failed: a | b")
    assert "| contract run, 300 examples | failed: a \\| b | — | none set (reported) |" in render(
        report
    )


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="no matplotlib")
def test_the_chart_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    assert write_chart(make_report(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

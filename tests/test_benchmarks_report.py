"""The results say each figure's ratio, and for each target: met, or missed by how much."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from benchmarks.beyond import InProcess, Startup, StoredTasks
from benchmarks.cells import CELLS, Target
from benchmarks.load import LoadResult
from benchmarks.report import Report, at_least, at_most, render, write_chart
from benchmarks.suite import BARE, FAKE, PRISM_SILENT, SocketResults

MIB = 1024 * 1024


def result(rps: float, p99: float, statuses: dict[int, int] | None = None) -> LoadResult:
    requests = int(rps * 2)
    return LoadResult(requests, 2.0, p99 / 4, p99, statuses or {200: requests})


def make_report() -> Report:
    targets = [
        Target(FAKE, "freepik-mock serve", {"seed": 1}),
        Target(PRISM_SILENT, "Prism -v silent", {"seed": 2, "tasks": 3}),
        Target(BARE, "bare Starlette", {"seed": 4}, expected={c.key: 200 for c in CELLS}),
    ]
    socket = SocketResults(targets, (64,), rounds=2, seconds=2, generator="wrk")
    # fake: 3x Prism on every cell, 60 % of bare; p99 below Prism's except GET list.
    for cell in CELLS:
        status = 400 if cell.key == "invalid_post" else 200
        for _ in range(2):
            fake_p99 = 30.0 if cell.key == "get_list" else 5.0
            socket.add(targets[0], cell, 64, result(9000, fake_p99, {status: 18000}))
            socket.add(targets[1], cell, 64, result(3000, 20.0, {status: 6000}))
            socket.add(targets[2], cell, 64, result(15000, 2.0))
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
            PRISM_SILENT: Startup([0.5, 0.5, 0.5], 150 * MIB),
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
        ),
    )


def test_verdicts_say_met_or_the_distance() -> None:
    assert at_least(3.0, 2.5, str).text == "met"
    assert at_least(2.0, 2.5, lambda v: f"{v:.1f}x").text == "missed by 0.5x"
    assert at_most(0.5, 0.2, lambda v: f"{v:.1f}x").text == "missed by 0.3x"
    assert at_most(None, 1, str).met is None


def test_render_gives_figures_ratios_and_every_miss() -> None:
    report = make_report()
    text = render(report)
    assert "| valid POST | 64 | 9,000 | 3,000 | 15,000 | 3.00x | >= 2.5x: met |" in text
    # 3x is short of GET by id's 3.5x target; 60 % is short of its 80 % of bare.
    assert "GET by id at 64 connections: fake / Prism silent >= 3.5x: missed by 0.50x" in text
    assert "GET by id at 64 connections: fake / bare >= 80%: missed by 20 %" in text
    assert "GET list at 64 connections: p99 below Prism silent's: missed by 10.00 ms" in text
    # 0.25 s vs 0.5 s is half of Prism's start-up, not a fifth; 80 MiB for 100,000 tasks.
    assert "start-up <= 1/5 of Prism's: missed by 0.30x" in text
    assert "100,000 stored tasks cost <= 60 MiB: missed by 20.0 MiB" in text
    assert "(respx route forwarding to the app, valid POST) <= 350 µs: missed by 50" in text
    assert "| idle RSS | 40.0 MiB | 150.0 MiB | — | 0.27x | <= 0.33x: met |" in text
    met = sum(1 for _, verdict in report.verdicts if verdict.met)
    assert f"{met} of {len(report.verdicts)} targets met." in text


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="no matplotlib")
def test_the_chart_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    assert write_chart(make_report(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

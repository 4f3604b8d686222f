"""The results as Markdown (figures, ratios, targets) and as a PNG chart.

Figures per cell are medians over the rounds; ratios are taken between servers of the
same run. In a judged report (the full run) each target says ``met`` or how far it was
missed; ``--quick`` renders figures only, as it runs too little to judge anything.
"""

from __future__ import annotations

import importlib
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .beyond import (
    FRESH_REFUSAL,
    MIB,
    AccessLogCheck,
    ContractSpeed,
    InProcess,
    Startup,
    StoredTasks,
    WebhooksPending,
)
from .cells import CELLS
from .load import LoadResult
from .suite import (
    BARE,
    FAKE,
    MOCKOON,
    PRISM_DEFAULT,
    PRISM_SILENT,
    SERVERS,
    TITLES,
    WIREMOCK,
    SocketResults,
)

__all__ = [
    "PRISM_TARGETS",
    "WIREMOCK_TARGETS",
    "Report",
    "Verdict",
    "at_least",
    "at_most",
    "render",
    "write_chart",
]

# fake / Prism -v silent and fake / WireMock, per cell (issue 16). Bare Starlette is the
# ceiling and Mockoon a reference: both reported, neither a target.
PRISM_TARGETS = {"valid_post": 3.0, "get_by_id": 4.5}
WIREMOCK_TARGETS = {"valid_post": 1.5, "get_by_id": 1.5}
STARTUP_TARGET = 0.25  # of Prism's
IDLE_RSS_TARGET = 1 / 3  # of Prism's
STORED_RSS_TARGET_MIB = 60.0
STORED_P99_TARGET = 1.5  # x an empty store's
INPROCESS_TARGET_US = 350.0


@dataclass(frozen=True)
class Verdict:
    met: bool | None
    text: str
    # For a miss: what this run measured that explains it.
    why: str = ""
    # The figure judged, as the report prints it.
    measured: str = ""


NOT_MEASURED = Verdict(None, "not measured")


def _missed(value: float, target: float, fmt: Callable[[float], str]) -> Verdict:
    # A miss smaller than the printed precision would read "missed by 0.00x" beside a
    # figure that prints as the target: say both to the next digit.
    by, measured = fmt(abs(value - target)), fmt(value)
    if measured == fmt(target):
        by, measured = f"{abs(value - target):.4f}", f"{value:.4f}"
    return Verdict(False, f"missed by {by}", measured=measured)


def at_least(value: float | None, target: float, fmt: Callable[[float], str]) -> Verdict:
    if value is None:
        return NOT_MEASURED
    if value >= target:
        return Verdict(True, "met", measured=fmt(value))
    return _missed(value, target, fmt)


def at_most(value: float | None, target: float, fmt: Callable[[float], str]) -> Verdict:
    if value is None:
        return NOT_MEASURED
    if value <= target:
        return Verdict(True, "met", measured=fmt(value))
    return _missed(value, target, fmt)


def _x(value: float) -> str:
    return f"{value:.2f}x"


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def _us(value: float) -> str:
    return f"{value:.0f} µs"


def _mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


def _s(value: float) -> str:
    return f"{value:.2f} s"


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _fmt(value: float | None, fmt: Callable[[float], str]) -> str:
    return "—" if value is None else fmt(value)


@dataclass
class Report:
    title: str
    command: str
    mode: str
    date: str
    machine: dict[str, str]
    versions: dict[str, str]
    shared_machine_note: str
    socket: SocketResults
    startup: dict[str, Startup] = field(default_factory=dict)
    stored: StoredTasks | None = None
    inprocess: InProcess | None = None
    webhooks: WebhooksPending | None = None
    contract: ContractSpeed | None = None
    access_log: AccessLogCheck | None = None
    chart: str | None = None
    # False for --quick: figures only, no target is judged or named.
    judged: bool = True
    verdicts: list[tuple[str, Verdict]] = field(default_factory=list)

    def present(self) -> list[str]:
        """Keys of the servers of the socket rounds, in the order of the tables."""
        return [key for key in SERVERS if self.socket.target(key)]

    def rps(self, target: str, cell: str, connections: int) -> float | None:
        return _median([r.rps for r in self.socket.of(target, cell, connections)])

    def cpu_us(self, target: str, cell: str, connections: int) -> float | None:
        """Median CPU microseconds the server spent per answered request."""
        found = self.socket.cpu_us.get(target, {}).get(cell, {}).get(connections, [])
        return _median(found)

    def p(self, target: str, cell: str, connections: int, which: str) -> float | None:
        results = self.socket.of(target, cell, connections)
        return _median([r.p50_ms if which == "p50" else r.p99_ms for r in results])

    def unexpected(self, target: str, cell: str, connections: int) -> float | None:
        found = self.socket.target(target)
        results: list[LoadResult] = self.socket.of(target, cell, connections)
        if found is None or not results:
            return None
        expected = found.expected_status(next(c for c in CELLS if c.key == cell))
        return max(r.unexpected_share(expected) for r in results)

    def judge(self, what: str, verdict: Verdict, why: str = "") -> Verdict:
        """Record a target's verdict (none in a report that judges nothing)."""
        if verdict.met is False and why:
            verdict = Verdict(False, verdict.text, why, verdict.measured)
        if self.judged:
            self.verdicts.append((what, verdict))
        return verdict

    def target_column(self, goal: str, verdict: Verdict) -> list[str]:
        """The target cell of a table row: the goal and its verdict; nothing if unjudged."""
        return [f"{goal}: {verdict.text}"] if self.judged else []


_CELL_WORK = {
    "valid_post": "a valid create reads, parses and checks the body, stores a new task and "
    "schedules its two status changes, which the timer loop applies in the same process",
    "invalid_post": "a refusal is explained by jsonschema (every violation, each with its "
    "reason); the errors of a short field value refused before are kept, as this cell "
    "repeats one body (see 'Where the fake's time goes' for a refusal of new values); "
    "Prism answers one constant body",
    "get_by_id": "a read authenticates, applies due transitions, and unpacks the stored task",
    "get_list": "a page unpacks 20 stored tasks; Prism returns its static two-item example",
}


def _best_case_rps(report: Report, cell: str, connections: int) -> float | None:
    """Req/s of one worker if a request cost only uvicorn's share plus the fake's app.

    uvicorn, httptools and the socket cost about 1 / bare req/s less the bare app's own
    time; the fake's app time is measured with no socket at all."""
    inproc = report.inprocess
    bare_rps = report.rps(BARE, cell, connections)
    if inproc is None or cell not in inproc.app_only_fake or not bare_rps:
        return None
    server = max(0.0, 1e6 / bare_rps - inproc.app_only_bare[cell])
    return 1e6 / (server + inproc.app_only_fake[cell])


def _cost_why(report: Report, cell: str, connections: int) -> str:
    """What one request of ``cell`` costs the fake, measured in this run."""
    parts = [_CELL_WORK[cell]]
    inproc = report.inprocess
    bare_rps = report.rps(BARE, cell, connections)
    best = _best_case_rps(report, cell, connections)
    if inproc is not None and best is not None and bare_rps:
        fake_app, bare_app = inproc.app_only_fake[cell], inproc.app_only_bare[cell]
        server = 1e6 / bare_rps - bare_app
        parts.append(
            f"its ASGI app alone takes {fake_app:.0f} µs a request (the bare app's "
            f"{bare_app:.0f} µs) and uvicorn, httptools and the socket about {server:.0f} µs "
            f"more, so even with nothing else running one worker could serve at best "
            f"{best:,.0f} req/s, {best / bare_rps:.0%} of the bare app"
        )
    return "; ".join(parts)


def _peer_why(report: Report, peer: str, cell: str, connections: int) -> str:
    served = report.rps(peer, cell, connections)
    best = _best_case_rps(report, cell, connections)
    notes = ""
    if served:
        notes = f"{TITLES[peer]} served {served:,.0f} req/s in this run" + _PEER_NOTES[peer]
        if best is not None:
            notes += f"; that best case is {best / served:.1f}x {TITLES[peer]}'s"
        ceiling = report.rps(BARE, cell, connections)
        if ceiling:
            notes += (
                f"; the bare app, served the same way and doing no work, served "
                f"{ceiling:,.0f} req/s, {ceiling / served:.2f}x {TITLES[peer]}'s"
            )
    return "; ".join(p for p in (_cost_why(report, cell, connections), notes) if p)


_PEER_NOTES = {
    PRISM_SILENT: " (the performance notes measured 2,200-4,000 req/s for it on this kind "
    "of machine)",
    WIREMOCK: " from constant stubs, validating nothing (the performance notes measured "
    "5,900 / 9,800 req/s on valid POST / GET by id on this kind of machine)",
}


def _row(cells: Sequence[str]) -> str:
    # A pipe inside a cell (a quoted error message) would split it.
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows), ""]


def _rps(value: float | None) -> str:
    return _fmt(value, lambda v: f"{v:,.0f}")


def _throughput(report: Report) -> list[str]:
    present = report.present()
    header = ["cell", "conns", *(f"{TITLES[k]} req/s" for k in present)]
    rows = [
        [cell.title, str(conns), *(_rps(report.rps(k, cell.key, conns)) for k in present)]
        for cell in CELLS
        for conns in report.socket.connections
    ]
    return _table(header, rows)


# Each peer the fake is compared with per cell, and its targets (none: reported only).
_COMPARED: tuple[tuple[str, dict[str, float]], ...] = (
    (PRISM_SILENT, PRISM_TARGETS),
    (WIREMOCK, WIREMOCK_TARGETS),
    (MOCKOON, {}),
    (BARE, {}),
)


def _ratios(report: Report) -> list[str]:
    present = report.present()
    if FAKE not in present:
        return []
    compared = [(peer, goals) for peer, goals in _COMPARED if peer in present]
    header = ["cell", "conns"]
    for peer, goals in compared:
        header.append(f"fake / {TITLES[peer]}")
        if goals and report.judged:
            header.append("target")
    rows: list[list[str]] = []
    for cell in CELLS:
        for conns in report.socket.connections:
            row = [cell.title, str(conns)]
            fake = report.rps(FAKE, cell.key, conns)
            for peer, goals in compared:
                ratio = _ratio(fake, report.rps(peer, cell.key, conns))
                row.append(_fmt(ratio, _x))
                if not goals or not report.judged:
                    continue
                goal = goals.get(cell.key)
                if goal is None:
                    row.append("—")
                    continue
                verdict = report.judge(
                    f"{cell.title} at {conns} connections: fake / {TITLES[peer]} >= {goal}x",
                    at_least(ratio, goal, _x),
                    _peer_why(report, peer, cell.key, conns),
                )
                row += report.target_column(f">= {goal}x", verdict)
            rows.append(row)
    return _table(header, rows)


def _latency(report: Report) -> list[str]:
    present = report.present()
    header = ["cell", "conns", *(f"{TITLES[k]} p50 / p99 ms" for k in present)]
    rows: list[list[str]] = []
    for cell in CELLS:
        for conns in report.socket.connections:
            row = [cell.title, str(conns)]
            for key in present:
                p50 = report.p(key, cell.key, conns, "p50")
                p99 = report.p(key, cell.key, conns, "p99")
                row.append(f"{_fmt(p50, lambda v: f'{v:.2f}')} / {_fmt(p99, lambda v: f'{v:.2f}')}")
            rows.append(row)
    return _table(header, rows)


def _cpu(report: Report) -> list[str]:
    present = [k for k in report.present() if k in report.socket.cpu_us]
    if not present:
        return []
    header = ["cell", "conns", *(f"{TITLES[k]} µs" for k in present)]
    rows = [
        [cell.title, str(conns), *(_fmt(report.cpu_us(k, cell.key, conns), _us) for k in present)]
        for cell in CELLS
        for conns in report.socket.connections
    ]
    lines = [
        "CPU time (user + system, every thread and child process) each server spent during "
        "its cell, over the requests it answered; median of the rounds. Other work on the "
        "machine moves this far less than req/s. One uvicorn worker (the fake, bare) runs "
        "on one core; WireMock's threads and Prism's two processes can use both.",
        "",
    ]
    return lines + _table(header, rows)


def _unexpected(report: Report) -> list[str]:
    present = [t for t in report.socket.targets]
    header = ["cell", "conns", *(f"{t.title} (expects)" for t in present)]
    rows: list[list[str]] = []
    for cell in CELLS:
        for conns in report.socket.connections:
            row = [cell.title, str(conns)]
            for target in present:
                share = report.unexpected(target.key, cell.key, conns)
                row.append(f"{_fmt(share, lambda v: f'{v:.2%}')} ({target.expected_status(cell)})")
            rows.append(row)
    return _table(header, rows)


def _startup_why(report: Report) -> str:
    prism = report.startup.get(PRISM_SILENT)
    bare = report.startup.get(BARE)
    fake = report.startup[FAKE]
    text = (
        "Prism (started with node directly, not through npx) answered its first 200 after "
        f"{_fmt(prism.median if prism else None, _s)} here; the performance notes measured "
        "1.3-2.0 s. A Python process that imports uvicorn and Starlette and answers one "
        f"request already takes {_fmt(bare.median if bare else None, _s)} (the bare app)"
    )
    if bare is not None:
        extra = _s(fake.median - bare.median)
        text += f"; the fake's own imports, its spec and its first create add {extra}"
    return text


def _startup(report: Report) -> list[str]:
    """Start-up to the first answer and idle memory of every server, beside Prism's."""
    fake = report.startup.get(FAKE)
    prism = report.startup.get(PRISM_SILENT)
    if fake is None:
        return []
    rows: list[list[str]] = []
    for key in (FAKE, PRISM_SILENT, WIREMOCK, MOCKOON, BARE):
        found = report.startup.get(key)
        if found is None:
            continue
        start_ratio = _ratio(found.median, prism.median if prism else None)
        rss_ratio = _ratio(found.idle_rss, prism.idle_rss if prism else None)
        start_cell, rss_cell = _fmt(start_ratio, _x), _fmt(rss_ratio, _x)
        if key == FAKE and prism is not None and report.judged:
            verdict = report.judge(
                f"start-up <= {STARTUP_TARGET:.2f}x Prism's",
                at_most(start_ratio, STARTUP_TARGET, _x),
                _startup_why(report),
            )
            start_cell += f" (<= {STARTUP_TARGET:.2f}x: {verdict.text})"
            verdict = report.judge(
                "idle RSS <= 1/3 of Prism's", at_most(rss_ratio, IDLE_RSS_TARGET, _x)
            )
            rss_cell += f" (<= 0.33x: {verdict.text})"
        spread = (
            f" ({_s(min(found.seconds))}-{_s(max(found.seconds))})"
            if len(found.seconds) > 1
            else ""
        )
        rows.append([
            TITLES[key], f"{_s(found.median)}{spread}", _mib(found.idle_rss), start_cell, rss_cell
        ])  # fmt: skip
    repeats = max(len(found.seconds) for found in report.startup.values())
    lines = [
        f"Process start to the first 200 on a valid create, median of {repeats} start(s) "
        "taking turns (range in brackets); resident memory of the process and its children "
        "1 s after the last start.",
        "",
    ]
    header = [
        "server", "start-up to first answer", "idle RSS",
        f"start-up / {TITLES[PRISM_SILENT]}'s", f"idle RSS / {TITLES[PRISM_SILENT]}'s",
    ]  # fmt: skip
    return lines + _table(header, rows)


def _beyond(report: Report) -> list[str]:
    """What only the fake has: a store, in-process calls, webhooks, its contract suite."""
    rows: list[list[str]] = []
    stored = report.stored
    if stored is not None:
        # Scale the 100,000-task budget when fewer tasks were stored (--quick).
        budget = STORED_RSS_TARGET_MIB * MIB * stored.count / 100_000
        verdict = report.judge(
            f"{stored.count:,} stored tasks cost <= {budget / MIB:.0f} MiB",
            at_most(float(stored.rss_cost), budget, _mib),
            f"{stored.rss_cost / max(1, stored.count):.0f} bytes of RSS per task: each task "
            "keeps its validated request body as JSON (defaults filled in), its result URL, "
            "base URL, owner digest, id, status and times, plus its dict key and its place "
            "in the owner's list; what is left is the allocator's overhead after every task "
            "was stored three times (created, IN_PROGRESS, COMPLETED)",
        )
        rows.append([
            f"RSS cost of {stored.count:,} stored tasks (created through the API in "
            f"{stored.fill_seconds:.1f} s)",
            f"{_mib(stored.rss_cost)} ({_mib(stored.rss_before)} → {_mib(stored.rss_after)})",
            "—", *report.target_column(f"<= {budget / MIB:.0f} MiB", verdict),
        ])  # fmt: skip
        for cell in CELLS:
            if cell.key not in stored.p99_full:
                continue
            empty = _median(stored.p99_empty[cell.key])
            full = _median(stored.p99_full[cell.key])
            ratio = _ratio(full, empty)
            verdict = report.judge(
                f"p99 of {cell.title} with {stored.count:,} tasks <= 1.5x an empty store's",
                at_most(ratio, STORED_P99_TARGET, _x),
                "p99 per round, "
                f"stored: {', '.join(f'{v:.1f}' for v in stored.p99_full[cell.key])} ms, "
                f"empty: {', '.join(f'{v:.1f}' for v in stored.p99_empty[cell.key])} ms, "
                "on 2 cores shared by the load generator, both fakes and other work",
            )
            rps_e = _median(stored.rps_empty[cell.key])
            rps_f = _median(stored.rps_full[cell.key])
            rows.append([
                f"p99 of {cell.title} at {stored.connections} conns, {stored.count:,} tasks "
                "stored vs empty store",
                f"{_fmt(full, _ms)} vs {_fmt(empty, _ms)} ({_rps(rps_f)} vs {_rps(rps_e)} req/s)",
                _fmt(ratio, _x), *report.target_column("<= 1.5x", verdict),
            ])  # fmt: skip
    inproc = report.inprocess
    if inproc is not None:
        rows += _inprocess_rows(report, inproc)
    hooks = report.webhooks
    if hooks is not None:
        calm = hooks.baseline
        for title, load in (
            (f"while {hooks.webhooks:,} webhook deliveries start", hooks.starting),
            (
                f"with {hooks.pending_before:,} webhooks pending to a slow receiver "
                f"({hooks.pending_after:,} still pending after)",
                hooks.loaded,
            ),
        ):
            rows.append([
                f"valid POST p50 / p99 at {hooks.connections} conns, {title}",
                f"{_ms(load.p50_ms)} / {_ms(load.p99_ms)} ({_rps(load.rps)} req/s)",
                f"p99 {_x(load.p99_ms / calm.p99_ms)} of none pending "
                f"({_ms(calm.p50_ms)} / {_ms(calm.p99_ms)}, {_rps(calm.rps)} req/s)"
                if calm.p99_ms else "—",
                *(["none set (reported)"] if report.judged else []),
            ])  # fmt: skip
    contract = report.contract
    if contract is not None:
        rows.append([
            f"contract run, {contract.examples} examples",
            _fmt(contract.wall_seconds, _s) if contract.wall_seconds else contract.note,
            "—", *(["none set (reported)"] if report.judged else []),
        ])  # fmt: skip
    access = report.access_log
    if access is not None:
        rows.append([
            f"access log lines for {access.requests}+ requests: default / --access-log",
            f"{access.lines_default} / {access.lines_with_flag}",
            "—", *(["none set (reported)"] if report.judged else []),
        ])  # fmt: skip
    header = ["measure", "fake", "ratio", *(["target"] if report.judged else [])]
    return _table(header, rows)


# The ways of an in-process call, as the table names them, and whether the in-process
# target judges them: the ways users call the fake (the kit's harness, which the
# freepik_mock fixture is, and httpx's ASGI transport); a generic respx route is shown
# for what respx itself costs.
_INPROCESS_WAYS: tuple[tuple[str, str, bool], ...] = (
    ("kit_async", "FreepikMock (the freepik_mock fixture), httpx.AsyncClient", True),
    ("kit_sync", "FreepikMock (the freepik_mock fixture), httpx.Client", True),
    ("asgi_transport", "httpx ASGITransport", True),
    ("respx_route", "a generic respx route forwarding to httpx ASGITransport", False),
)


def _inprocess_rows(report: Report, inproc: InProcess) -> list[list[str]]:
    rows: list[list[str]] = []
    for attribute, way, judged in _INPROCESS_WAYS:
        figures: dict[str, float] = getattr(inproc, attribute)
        for key, value in figures.items():
            title = next(c.title for c in CELLS if c.key == key)
            if not judged:
                target = ["none set (reported)"] if report.judged else []
            else:
                base = inproc.asgi_transport.get(key)
                hop = inproc.thread_hop.get("async" if attribute == "kit_async" else "sync")
                hop_cost = (
                    f" (a round trip onto another thread's event loop, doing nothing there, "
                    f"takes {_us(hop)} here by itself)"
                    if hop is not None and attribute.startswith("kit_")
                    else ""
                )
                verdict = report.judge(
                    f"in-process call ({way}, {title}) <= 350 µs",
                    at_most(value, INPROCESS_TARGET_US, _us),
                    f"the ASGI app alone takes {_us(inproc.app_only_fake.get(key, 0))}; "
                    f"httpx's client and ASGI transport bring a call to {_fmt(base, _us)}; "
                    "the kit's harness adds respx's routing and one hop each way onto the "
                    f"app's own event loop thread{hop_cost}, where its timers and webhook "
                    "deliveries run whichever client, sync or async, calls",
                )
                target = report.target_column("<= 350 µs", verdict)
            rows.append([f"in-process call, {way}, {title}", _us(value), "—", *target])
    for key, client in (("sync", "from a blocked thread"), ("async", "awaited from a loop")):
        if key in inproc.thread_hop:
            rows.append([
                f"a round trip onto another thread's event loop, doing nothing, {client} "
                "(the kit's hop alone)",
                _us(inproc.thread_hop[key]), "—",
                *(["none set (reported)"] if report.judged else []),
            ])  # fmt: skip
    return rows


def _where_time_goes(report: Report) -> list[str]:
    inproc = report.inprocess
    if inproc is None:
        return []
    rows = []
    for cell in CELLS:
        fake = inproc.app_only_fake.get(cell.key)
        bare = inproc.app_only_bare.get(cell.key)
        if fake is None or bare is None:
            continue
        rows.append([cell.title, _us(fake), _us(bare), _us(fake - bare)])
        fresh = inproc.app_only_fake.get(FRESH_REFUSAL)
        if cell.key == "invalid_post" and fresh is not None:
            title = "invalid POST, every field value new (nothing kept from earlier refusals)"
            rows.append([title, _us(fresh), _us(bare), _us(fresh - bare)])
    lines = [
        "Each request driven straight into the ASGI app (no socket, no HTTP parsing, no "
        "client), best of 3 runs: the fake's own work per request, beside the bare app's.",
        "",
    ]
    return lines + _table(["cell", "fake app", "bare app", "the fake's own work"], rows)


_SERVERS_RUN = {
    FAKE: "`freepik-mock serve` as a user starts it: one uvicorn worker, no access log.",
    PRISM_SILENT: "Stoplight Prism `mock -v silent` (node directly), one process per "
    "vendored document (the create, and the task reads), validating every request.",
    PRISM_DEFAULT: "Prism as above with its default logging.",
    WIREMOCK: "WireMock standalone (`java -jar`, the jar of the npm package `wiremock`) with "
    "`--bind-address 127.0.0.1 --disable-banner --no-request-journal` (its own advice for "
    "load tests), default threads, synchronous responses, warmed up with a few seconds of "
    "unrecorded load per cell so that its JIT is not what is measured. Its four stubs "
    "answer the fake's own bodies (captured in-process before the run) as constants: it "
    "validates nothing (the invalid create is told apart only because its body is not "
    "the valid one) and keeps no tasks.",
    MOCKOON: "Mockoon CLI `start` importing the two vendored OpenAPI documents (one "
    "environment and port each, in one process) with `--disable-log-to-file "
    "--disable-admin-api --disable-external-refs`; it logs each request to stdout. It "
    "validates nothing: every create answers 200 with an empty body, the reads the "
    "spec's examples.",
    BARE: "a bare Starlette app (router and a constant body) served as the fake is "
    "(the same uvicorn, the fake's protocol class, no server or proxy headers): the "
    "ceiling of a Python server here, not a target. Its start-up is measured with "
    "uvicorn's own settings, which do not import the fake's package.",
}


def _servers(report: Report) -> list[str]:
    keys = [k for k in SERVERS if report.socket.target(k) or k in report.startup]
    return [*(f"- {TITLES[k]}: {_SERVERS_RUN[k]}" for k in keys), ""]


def _targets(report: Report) -> list[str]:
    if not report.judged:
        return [
            "This run judges no target: `--quick` checks that the harness works (short cells, "
            "few connections, a scaled-down store, no Prism, WireMock or Mockoon). The full "
            "run, `python -m benchmarks`, judges the targets (benchmarks/RESULTS.md).",
            "",
        ]
    met = sum(1 for _, v in report.verdicts if v.met)
    lines = [f"{met} of {len(report.verdicts)} targets met.", ""]
    rows = [[what, v.measured or "—", v.text] for what, v in report.verdicts]
    lines += _table(["target", "measured", "verdict"], rows)
    missed = [(what, v) for what, v in report.verdicts if v.met is False]
    if missed:
        lines += ["Missed, with what this run measured that explains it:", ""]
        lines += [
            f"- {what}: {v.text}." + (f" Why: {v.why}." if v.why else "") for what, v in missed
        ]
        lines += [""]
    return lines


def render(report: Report) -> str:
    report.verdicts.clear()
    lines = [f"# {report.title}", ""]
    lines += [f"- Command: `{report.command}`", f"- Mode: {report.mode}", f"- Date: {report.date}"]
    lines += [f"- Machine: {report.shared_machine_note}", ""]
    lines += ["## Servers", "", *_servers(report)]
    lines += ["## Requests per second", ""]
    lines += [
        f"Median of {report.socket.rounds} interleaved round(s), {report.socket.seconds:g} s "
        f"per cell, load from {report.socket.generator} on the same machine.",
        "",
    ]
    lines += _throughput(report)
    ratios = _ratios(report)
    if ratios:
        lines += ["## The fake beside each server", ""]
        lines += [
            "Req/s of the fake over each other server's, same cell, same run"
            + (
                "; targets against Prism `-v silent` and WireMock only (bare Starlette is "
                "the ceiling, Mockoon a reference)."
                if report.judged
                else "."
            ),
            "",
        ]
        lines += ratios
    lines += ["## Latency", "", *_latency(report)]
    cpu = _cpu(report)
    if cpu:
        lines += ["## CPU time per request", "", *cpu]
    lines += [
        "## Unexpected answers",
        "",
        "Share of answers other than the expected status (in brackets), worst round; socket "
        "errors count as unexpected.",
        "",
    ]
    lines += _unexpected(report)
    startup = _startup(report)
    if startup:
        lines += ["## Start-up and idle memory", "", *startup]
    lines += ["## Beyond the socket", "", *_beyond(report)]
    where = _where_time_goes(report)
    if where:
        lines += ["## Where the fake's time goes", "", *where]
    if report.chart:
        lines += ["## Chart", "", f"![req/s and p99 per cell]({report.chart})", ""]
    lines += ["## Targets", "", *_targets(report)]
    lines += ["## Machine and versions", ""]
    lines += _table(["", ""], [[k, v] for k, v in {**report.machine, **report.versions}.items()])
    return "\n".join(lines).rstrip() + "\n"


_COLOURS = {
    FAKE: "#1f77b4",
    PRISM_SILENT: "#d62728",
    PRISM_DEFAULT: "#ff9896",
    WIREMOCK: "#2ca02c",
    MOCKOON: "#9467bd",
    BARE: "#7f7f7f",
}


def write_chart(report: Report, path: Path) -> bool:
    """Grouped bars of req/s and p99 per cell and server; False without matplotlib."""
    # Imported by name: matplotlib is in the optional 'bench' extra only.
    try:
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return False
    present = report.present()
    labels = [
        f"{cell.title.split(' (')[0]}\nc={c}" for cell in CELLS for c in report.socket.connections
    ]
    keys = [(cell.key, c) for cell in CELLS for c in report.socket.connections]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    width = 0.8 / max(1, len(present))
    for index, server in enumerate(present):
        xs = [i + (index - (len(present) - 1) / 2) * width for i in range(len(keys))]
        rps = [report.rps(server, cell, c) or 0 for cell, c in keys]
        p99 = [report.p(server, cell, c, "p99") or 0 for cell, c in keys]
        top.bar(xs, rps, width, label=TITLES[server], color=_COLOURS[server])
        bottom.bar(xs, p99, width, label=TITLES[server], color=_COLOURS[server])
    top.set_ylabel("requests per second (higher is better)")
    bottom.set_ylabel("p99 latency, ms (lower is better)")
    bottom.set_yscale("log")
    bottom.set_xticks(range(len(keys)), labels)
    top.legend(ncol=len(present), loc="upper left", fontsize="small")
    top.set_title(
        f"freepik-mock beside {', '.join(TITLES[k] for k in present[1:])} — {report.date}"
    )
    for axis in (top, bottom):
        axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True

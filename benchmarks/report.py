"""The results as Markdown (figures, ratios, targets) and as a PNG chart.

Figures per cell are medians over the rounds; ratios are taken between servers of the
same run. Each target says ``met`` or how far it was missed.
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
from .suite import BARE, FAKE, PRISM_DEFAULT, PRISM_SILENT, TITLES, SocketResults

__all__ = [
    "THROUGHPUT_TARGETS",
    "Report",
    "Verdict",
    "at_least",
    "at_most",
    "render",
    "write_chart",
]

# fake / Prism -v silent, per cell (issue 11).
THROUGHPUT_TARGETS = {"valid_post": 2.5, "invalid_post": 2.0, "get_by_id": 3.5, "get_list": 3.0}
# fake / bare Starlette, per cell.
CEILING_TARGETS = {"valid_post": 0.5, "get_by_id": 0.8}
STARTUP_TARGET = 1 / 5  # of Prism's
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


NOT_MEASURED = Verdict(None, "not measured")


def at_least(value: float | None, target: float, fmt: Callable[[float], str]) -> Verdict:
    if value is None:
        return NOT_MEASURED
    if value >= target:
        return Verdict(True, "met")
    return Verdict(False, f"missed by {fmt(target - value)}")


def at_most(value: float | None, target: float, fmt: Callable[[float], str]) -> Verdict:
    if value is None:
        return NOT_MEASURED
    if value <= target:
        return Verdict(True, "met")
    return Verdict(False, f"missed by {fmt(value - target)}")


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
    verdicts: list[tuple[str, Verdict]] = field(default_factory=list)

    def rps(self, target: str, cell: str, connections: int) -> float | None:
        return _median([r.rps for r in self.socket.of(target, cell, connections)])

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
        if verdict.met is False and why:
            verdict = Verdict(False, verdict.text, why)
        self.verdicts.append((what, verdict))
        return verdict


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


def _prism_why(report: Report, cell: str, connections: int) -> str:
    prism = report.rps(PRISM_SILENT, cell, connections)
    best = _best_case_rps(report, cell, connections)
    notes = ""
    if prism:
        notes = (
            f"Prism -v silent served {prism:,.0f} req/s in this run (the performance notes "
            "measured 3,500-4,000 req/s for it on this kind of machine)"
        )
        if best is not None:
            notes += f", so that best case is {best / prism:.1f}x Prism's"
    return "; ".join(p for p in (_cost_why(report, cell, connections), notes) if p)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows), ""]


def _rps(value: float | None) -> str:
    return _fmt(value, lambda v: f"{v:,.0f}")


def _throughput(report: Report) -> list[str]:
    present = [k for k in (FAKE, PRISM_SILENT, PRISM_DEFAULT, BARE) if report.socket.target(k)]
    header = ["cell", "conns", *(f"{TITLES[k]} req/s" for k in present)]
    has_prism = PRISM_SILENT in present
    if has_prism:
        header += ["fake / Prism silent", "target"]
    header += ["fake / bare", "target"]
    rows: list[list[str]] = []
    for cell in CELLS:
        for conns in report.socket.connections:
            row = [cell.title, str(conns), *(_rps(report.rps(k, cell.key, conns)) for k in present)]
            fake = report.rps(FAKE, cell.key, conns)
            if has_prism:
                ratio = _ratio(fake, report.rps(PRISM_SILENT, cell.key, conns))
                goal = THROUGHPUT_TARGETS[cell.key]
                verdict = report.judge(
                    f"{cell.title} at {conns} connections: fake / Prism silent >= {goal}x",
                    at_least(ratio, goal, _x),
                    _prism_why(report, cell.key, conns),
                )
                row += [_fmt(ratio, _x), f">= {goal}x: {verdict.text}"]
            ceiling = _ratio(fake, report.rps(BARE, cell.key, conns))
            if cell.key in CEILING_TARGETS:
                goal = CEILING_TARGETS[cell.key]
                verdict = report.judge(
                    f"{cell.title} at {conns} connections: fake / bare >= {goal:.0%}",
                    at_least(ceiling, goal, _pct),
                    _cost_why(report, cell.key, conns),
                )
                row += [_fmt(ceiling, _pct), f">= {goal:.0%}: {verdict.text}"]
            else:
                row += [_fmt(ceiling, _pct), "—"]
            rows.append(row)
    return _table(header, rows)


def _latency(report: Report) -> list[str]:
    present = [k for k in (FAKE, PRISM_SILENT, PRISM_DEFAULT, BARE) if report.socket.target(k)]
    header = ["cell", "conns", *(f"{TITLES[k]} p50 / p99 ms" for k in present)]
    has_prism = PRISM_SILENT in present
    if has_prism:
        header += ["p99 below Prism silent's"]
    rows: list[list[str]] = []
    for cell in CELLS:
        for conns in report.socket.connections:
            row = [cell.title, str(conns)]
            for key in present:
                p50, p99 = (
                    report.p(key, cell.key, conns, "p50"),
                    report.p(key, cell.key, conns, "p99"),
                )
                row.append(f"{_fmt(p50, lambda v: f'{v:.2f}')} / {_fmt(p99, lambda v: f'{v:.2f}')}")
            if has_prism:
                fake99 = report.p(FAKE, cell.key, conns, "p99")
                prism99 = report.p(PRISM_SILENT, cell.key, conns, "p99")
                verdict = report.judge(
                    f"{cell.title} at {conns} connections: p99 below Prism silent's",
                    Verdict(None, "not measured")
                    if fake99 is None or prism99 is None
                    else Verdict(True, "met")
                    if fake99 < prism99
                    else Verdict(False, f"missed by {_ms(fake99 - prism99)}"),
                    "p99 comes from one cell per round on 2 cores shared by the load "
                    "generator, the server and other work; " + _cost_why(report, cell.key, conns),
                )
                row.append(verdict.text)
            rows.append(row)
    return _table(header, rows)


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


def _bare_share(bare: Startup | None, prism: Startup | None) -> str:
    if bare is None or prism is None or not prism.median:
        return ""
    return f", itself {bare.median / prism.median:.2f}x of Prism's"


def _beyond(report: Report) -> list[str]:
    rows: list[list[str]] = []
    fake_start = report.startup.get(FAKE)
    prism_start = report.startup.get(PRISM_SILENT)
    bare_start = report.startup.get(BARE)
    if fake_start is not None:
        ratio = _ratio(fake_start.median, prism_start.median if prism_start else None)
        verdict = (
            report.judge(
                "start-up <= 1/5 of Prism's",
                at_most(ratio, STARTUP_TARGET, _x),
                f"Prism (started with node directly, not through npx) answered its first "
                f"200 after {prism_start.median:.2f} s here; the performance notes measured "
                "1.4-2.0 s. A Python process that imports uvicorn and Starlette and "
                "answers one request already takes "
                f"{_fmt(bare_start.median if bare_start else None, _s)} (the bare app"
                + _bare_share(bare_start, prism_start)
                + "); the fake's own imports, its spec (read from the cache) and its first "
                "create add "
                + _fmt(
                    fake_start.median - bare_start.median if bare_start else None,
                    _s,
                ),
            )
            if prism_start
            else Verdict(None, "no Prism in this mode")
        )
        rows.append([
            "start-up to first 200 (median)",
            _s(fake_start.median),
            _fmt(prism_start.median if prism_start else None, _s),
            _fmt(bare_start.median if bare_start else None, _s),
            _fmt(ratio, _x),
            f"<= 0.20x: {verdict.text}",
        ])  # fmt: skip
        idle_ratio = _ratio(fake_start.idle_rss, prism_start.idle_rss if prism_start else None)
        verdict = (
            report.judge("idle RSS <= 1/3 of Prism's", at_most(idle_ratio, IDLE_RSS_TARGET, _x))
            if prism_start
            else Verdict(None, "no Prism in this mode")
        )
        rows.append([
            "idle RSS",
            _mib(fake_start.idle_rss),
            _fmt(prism_start.idle_rss if prism_start else None, _mib),
            _fmt(bare_start.idle_rss if bare_start else None, _mib),
            _fmt(idle_ratio, _x),
            f"<= 0.33x: {verdict.text}",
        ])  # fmt: skip
    stored = report.stored
    if stored is not None:
        # Scale the 100,000-task budget when fewer tasks were stored (--quick).
        budget = STORED_RSS_TARGET_MIB * MIB * stored.count / 100_000
        verdict = report.judge(
            f"{stored.count:,} stored tasks cost <= {budget / MIB:.0f} MiB",
            at_most(float(stored.rss_cost), budget, _mib),
            f"{stored.rss_cost / max(1, stored.count):.0f} bytes of RSS per task: each task "
            "keeps its validated request body as JSON (defaults filled in), its result URL, "
            "base URL, owner digest, id, status and times, packed into one bytes value, plus "
            "its dict key and its place in the owner's list; what is left is the "
            "allocator's overhead after every task was stored three times (created, "
            "IN_PROGRESS, COMPLETED)",
        )
        rows.append([
            f"RSS cost of {stored.count:,} stored tasks (created through the API in "
            f"{stored.fill_seconds:.1f} s)",
            f"{_mib(stored.rss_cost)} ({_mib(stored.rss_before)} → {_mib(stored.rss_after)})",
            "— (no state)", "—", "—", f"<= {budget / MIB:.0f} MiB: {verdict.text}",
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
                "stored tasks are bytes the garbage collector never scans; p99 per round, "
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
                "—", "—", _fmt(ratio, _x), f"<= 1.5x: {verdict.text}",
            ])  # fmt: skip
    inproc = report.inprocess
    if inproc is not None:
        for way, figures in (
            ("httpx ASGITransport", inproc.asgi_transport),
            ("respx route forwarding to the app", inproc.respx_route),
        ):
            for key, value in figures.items():
                title = next(c.title for c in CELLS if c.key == key)
                base = inproc.asgi_transport.get(key)
                verdict = report.judge(
                    f"in-process call ({way}, {title}) <= 350 µs",
                    at_most(value, INPROCESS_TARGET_US, _us),
                    f"the ASGI app alone takes {_us(inproc.app_only_fake.get(key, 0))}; "
                    f"httpx's client and ASGI transport bring a call to {_fmt(base, _us)}, "
                    "and a respx route adds its own matching and call on top",
                )
                rows.append(
                    [f"in-process call, {way}, {title}", _us(value), "—", "—", "—",
                     f"<= 350 µs: {verdict.text}"]
                )  # fmt: skip
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
                "— (no webhooks)", "—",
                f"p99 {_x(load.p99_ms / calm.p99_ms)} of none pending "
                f"({_ms(calm.p50_ms)} / {_ms(calm.p99_ms)}, {_rps(calm.rps)} req/s)"
                if calm.p99_ms else "—",
                "none set (reported)",
            ])  # fmt: skip
    contract = report.contract
    if contract is not None:
        rows.append([
            f"contract run, {contract.examples} examples",
            _fmt(contract.wall_seconds, _s) if contract.wall_seconds else contract.note,
            "—", "—", "—", "none set here (reported)",
        ])  # fmt: skip
    access = report.access_log
    if access is not None:
        verdict = report.judge(
            "no access log line per request by default",
            Verdict(access.lines_default == 0, "met" if access.lines_default == 0 else
                    f"missed: {access.lines_default} lines"),
        )  # fmt: skip
        rows.append([
            f"access log lines for {access.requests}+ requests: default / --access-log",
            f"{access.lines_default} / {access.lines_with_flag}",
            "—", "—", "—", f"none by default: {verdict.text}",
        ])  # fmt: skip
    header = ["measure", "fake", "Prism -v silent", "bare Starlette", "ratio", "target"]
    return _table(header, rows)


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


def render(report: Report) -> str:
    lines = [f"# {report.title}", ""]
    lines += [f"- Command: `{report.command}`", f"- Mode: {report.mode}", f"- Date: {report.date}"]
    lines += [f"- Machine: {report.shared_machine_note}", ""]
    lines += ["## Requests per second", ""]
    lines += [
        f"Median of {report.socket.rounds} interleaved round(s), {report.socket.seconds:g} s "
        f"per cell, load from {report.socket.generator} on the same machine. Targets compare "
        "one uvicorn worker with Prism `-v silent` in the same run.",
        "",
    ]
    lines += _throughput(report)
    lines += ["## Latency", "", *_latency(report)]
    lines += [
        "## Unexpected answers",
        "",
        "Share of answers other than the expected status (in brackets), worst round; socket "
        "errors count as unexpected.",
        "",
    ]
    lines += _unexpected(report)
    lines += ["## Beyond the socket", "", *_beyond(report)]
    where = _where_time_goes(report)
    if where:
        lines += ["## Where the fake's time goes", "", *where]
    if report.chart:
        lines += ["## Chart", "", f"![req/s and p99 per cell]({report.chart})", ""]
    missed = [(what, v) for what, v in report.verdicts if v.met is False]
    met = sum(1 for _, v in report.verdicts if v.met)
    lines += ["## Targets", "", f"{met} of {len(report.verdicts)} targets met.", ""]
    if missed:
        lines += ["Missed, with what this run measured that explains it:", ""]
        lines += [
            f"- {what}: {v.text}." + (f" Why: {v.why}." if v.why else "") for what, v in missed
        ]
        lines += [""]
    lines += ["## Machine and versions", ""]
    lines += _table(["", ""], [[k, v] for k, v in {**report.machine, **report.versions}.items()])
    return "\n".join(lines).rstrip() + "\n"


_COLOURS = {FAKE: "#1f77b4", PRISM_SILENT: "#d62728", PRISM_DEFAULT: "#ff9896", BARE: "#7f7f7f"}


def write_chart(report: Report, path: Path) -> bool:
    """Grouped bars of req/s and p99 per cell and server; False without matplotlib."""
    # Imported by name: matplotlib is in the optional 'bench' extra only.
    try:
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        return False
    present = [k for k in (FAKE, PRISM_SILENT, PRISM_DEFAULT, BARE) if report.socket.target(k)]
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
    top.set_title(f"freepik-mock vs Prism vs bare Starlette — {report.date}")
    for axis in (top, bottom):
        axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True

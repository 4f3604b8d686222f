"""``python -m benchmarks``: the whole benchmark, from installing its tools to the tables.

Full mode (the default) installs what it needs (wrk from Debian's packages when root;
Prism, WireMock and the Mockoon CLI with ``npm ci``; matplotlib from the ``bench``
extra; WireMock needs ``java``), runs every server through every cell in interleaved
rounds, measures what lies beyond the socket, judges the targets, and writes
``benchmarks/results/<date>.md`` with a PNG chart beside it, and ``benchmarks/RESULTS.md``.

``--quick`` checks that the harness still works, in well under a minute: only the fake
and the bare app, 1 s cells, few connections, scaled-down stores, wrk if present else a
built-in load generator. It prints figures and judges nothing, and writes under
``benchmarks/results/tmp/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .beyond import (
    AccessLogCheck,
    ContractSpeed,
    check_access_log,
    count_access_lines,
    measure_contract_speed,
    measure_inprocess,
    measure_startup,
    measure_stored_tasks,
    measure_webhooks_pending,
)
from .procs import ProcessSet
from .report import Report, render, write_chart
from .shared_state import measure_shared_state
from .suite import (
    BARE,
    FAKE,
    MOCKOON,
    PRISM_DEFAULT,
    PRISM_SILENT,
    WIREMOCK,
    LoadGenerator,
    builtin_generator,
    prepare_fake,
    prepare_peers,
    run_rounds,
    start_targets,
    warm_up,
    wrk_generator,
)
from .tools import (
    BENCH_DIR,
    SetupError,
    ensure_bytecode,
    ensure_chart_deps,
    ensure_java,
    ensure_npm_tools,
    ensure_wrk,
    load_average,
    machine_facts,
    tool_versions,
)

__all__ = ["main"]


def _connections(text: str) -> tuple[int, ...]:
    values = tuple(int(part) for part in text.split(",") if part.strip())
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("give connection counts like 16,64")
    return values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="freepik-mock side by side with Stoplight Prism, WireMock, the Mockoon CLI "
        "and a bare Starlette app.",
    )
    add = parser.add_argument
    add(
        "--quick",
        action="store_true",
        help="harness check: fake and bare app only, 1 s cells, figures only (< 1 min)",
    )
    add("--rounds", type=int, help="interleaved rounds (default 3; --quick 1)")
    add("--seconds", type=float, help="seconds per cell (default 5; --quick 1)")
    add("--connections", type=_connections, help="connection counts (default 16,64; --quick 4)")
    add(
        "--load-generator",
        choices=["auto", "wrk", "builtin"],
        default="auto",
        help="auto: wrk (installed if missing) in full mode; --quick uses wrk only if present",
    )
    add("--stored-tasks", type=int, help="tasks to store for the memory/p99 check (100000)")
    add("--webhooks", type=int, help="webhooks left pending to a slow receiver (1000)")
    add("--no-prism", action="store_true", help="leave Prism out")
    add("--no-wiremock", action="store_true", help="leave WireMock out (no java needed)")
    add("--no-mockoon", action="store_true", help="leave the Mockoon CLI out")
    add(
        "--warm-up",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="unrecorded load per cell on WireMock before the rounds, for its JIT (3)",
    )
    add("--no-contract", action="store_true", help="skip the contract suite's timing")
    add("--note", default="", help="a sentence about the machine, printed with the results")
    add("--output", type=Path, help="folder for results (default benchmarks/results)")
    add("--keep-logs", action="store_true", help="keep the servers' logs (a temporary folder)")
    return parser


def _generator(choice: str, quick: bool) -> tuple[LoadGenerator, str]:
    if choice == "builtin" or (choice == "auto" and quick and shutil.which("wrk") is None):
        return builtin_generator, "the built-in asyncio generator"
    wrk = ensure_wrk()
    return wrk_generator(wrk), "wrk (1 thread)"


_LOAD_AT_END = "load average at the end (1/5/15 min)"


def _shared_note(machine: dict[str, str], note: str) -> str:
    load = machine.get("load average at start (1/5/15 min)", "unknown")
    end = machine.get(_LOAD_AT_END)
    text = (
        f"{machine.get('cores')} cores, {machine.get('CPU')}; load average at start {load}"
        + (f", at the end {end}" if end else "")
        + ". "
        "Absolute figures move with whatever else runs on the machine; the ratios within "
        "one interleaved run are what count."
    )
    return f"{note.strip()} {text}".strip()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quick = bool(args.quick)
    rounds = args.rounds or (1 if quick else 3)
    seconds = args.seconds or (1.0 if quick else 5.0)
    connections = args.connections or ((4,) if quick else (16, 64))
    stored_count = args.stored_tasks or (2_000 if quick else 100_000)
    webhooks = args.webhooks or (50 if quick else 1_000)
    use_prism = not (quick or args.no_prism)
    use_wiremock = not (quick or args.no_wiremock)
    use_mockoon = not (quick or args.no_mockoon)
    output = args.output or (BENCH_DIR / "results" / ("tmp" if quick else ""))
    command = "python -m benchmarks " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    now = datetime.datetime.now(datetime.UTC)
    started = time.monotonic()
    machine = machine_facts()

    try:
        generate, generator_name = _generator(args.load_generator, quick)
        npm = ensure_npm_tools() if (use_prism or use_wiremock or use_mockoon) else None
        java = ensure_java() if use_wiremock else "java"
        chart_ok = ensure_chart_deps() if not quick else None
        ensure_bytecode()
    except SetupError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2

    used = {
        FAKE: True,
        PRISM_SILENT: use_prism,
        PRISM_DEFAULT: use_prism,
        WIREMOCK: use_wiremock,
        MOCKOON: use_mockoon,
        BARE: True,
    }
    names = [name for name, wanted in used.items() if wanted]
    log_dir = Path(tempfile.mkdtemp(prefix="freepik-mock-bench-"))
    print(f"server logs: {log_dir}", flush=True)
    with ProcessSet() as procs:
        try:
            peers = prepare_peers(log_dir, java) if (use_wiremock or use_mockoon) else None
            startup = measure_startup(
                procs,
                log_dir,
                [name for name in names if name != PRISM_DEFAULT],
                1 if quick else 10,
                peers=peers,
            )
            for name, found in startup.items():
                print(f"start-up {name}: {found.median:.2f} s, idle RSS "
                      f"{found.idle_rss / 2**20:.0f} MiB", flush=True)  # fmt: skip
            targets = start_targets(procs, log_dir, names, peers)
            for target in targets:
                if target.key == FAKE:
                    prepare_fake(target)
                if target.key == WIREMOCK and args.warm_up > 0:
                    print(f"warming WireMock up: {args.warm_up:g} s per cell", flush=True)
                    warm_up(target, generate, connections[-1], args.warm_up)
            if not quick:
                # One unrecorded warm-up pass (1 s cells): the first cells of a fresh
                # process, Prism's especially, run slower.
                run_rounds(
                    targets,
                    generate,
                    generator_name=generator_name,
                    connections=connections[:1],
                    rounds=1,
                    seconds=1.0,
                    settle_after_create=0.5,
                    progress=lambda line: None,
                )
            socket_results = run_rounds(
                targets,
                generate,
                generator_name=generator_name,
                connections=connections,
                rounds=rounds,
                seconds=seconds,
                settle_after_create=0.5 if quick else 3.5,
                cpu_of=procs.cpu,
            )
            fake_log = procs.server(FAKE).log_text()
            run_lines = count_access_lines(fake_log)
            procs.stop_all()
            stored = measure_stored_tasks(
                procs,
                log_dir,
                generate,
                count=stored_count,
                connections=connections[-1],
                seconds=seconds,
                rounds=rounds,
                settle=0.5 if quick else 3.5,
            )
            print(f"stored {stored.count:,} tasks: RSS +{stored.rss_cost / 2**20:.1f} MiB; "
                  f"p99 full/empty {stored.p99_full} / {stored.p99_empty}", flush=True)  # fmt: skip
            hooks = measure_webhooks_pending(
                procs,
                log_dir,
                generate,
                webhooks=webhooks,
                connections=connections[0],
                seconds=seconds,
                settle=0.5 if quick else 3.5,
            )
            print(
                f"webhooks pending {hooks.pending_before}: create p99 "
                f"{hooks.loaded.p99_ms:.2f} ms vs {hooks.baseline.p99_ms:.2f} ms",
                flush=True,
            )
            # Shared state (benchmarks/shared_state.py): its own section of the report.
            shared = measure_shared_state(procs, log_dir, generate, connections=connections[-1],
                                          seconds=seconds, rounds=rounds)  # fmt: skip
            access = check_access_log(procs, log_dir)
            access = AccessLogCheck(access.requests, access.lines_default + run_lines,
                                    access.lines_with_flag)  # fmt: skip
        except KeyboardInterrupt:
            print("benchmarks: interrupted; every server was stopped", file=sys.stderr)
            return 130
        except (RuntimeError, TimeoutError, OSError) as exc:
            print(f"benchmarks: {exc}\n(server logs in {log_dir})", file=sys.stderr)
            return 1
    inprocess = measure_inprocess(200 if quick else 2000)
    if quick or args.no_contract:
        contract = ContractSpeed(300, None, "not run (--quick or --no-contract)")
    else:
        contract = measure_contract_speed(300)
    elapsed = time.monotonic() - started
    machine[_LOAD_AT_END] = load_average()
    mode = (
        f"{'quick' if quick else 'full'}; {len(names)} servers; cells at "
        f"{', '.join(map(str, connections))} connections; {rounds} round(s) of "
        f"{seconds:g} s cells; {stored_count:,} stored tasks; {webhooks:,} pending webhooks; "
        f"took {elapsed / 60:.1f} min"
    )
    date = now.strftime("%Y-%m-%d")
    versions = tool_versions(
        npm=npm,
        wrk="wrk" in generator_name,
        prism=use_prism,
        wiremock=use_wiremock,
        mockoon=use_mockoon,
    )
    report = Report(
        title="freepik-mock benchmark" + (" (--quick)" if quick else ""),
        command=command.strip(),
        mode=mode,
        date=now.strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine,
        versions=versions,
        shared_machine_note=_shared_note(machine, args.note),
        socket=socket_results,
        startup=startup,
        stored=stored,
        inprocess=inprocess,
        webhooks=hooks,
        contract=contract,
        access_log=access,
        judged=not quick,
    )
    output.mkdir(parents=True, exist_ok=True)
    stem = f"quick-{date}" if quick else date
    chart_path = output / f"{stem}.png"
    if (chart_ok or quick) and write_chart(report, chart_path):
        report.chart = chart_path.name
    text = render(report) + "\n" + shared.markdown()
    result_path = output / f"{stem}.md"
    result_path.write_text(text)
    if not quick and args.output is None:
        if report.chart:
            report.chart = f"results/{chart_path.name}"
        (BENCH_DIR / "RESULTS.md").write_text(render(report) + "\n" + shared.markdown())
    print()
    print(text)
    print(f"written: {result_path}" + (f" and {chart_path}" if report.chart else ""))
    if args.keep_logs:
        print(f"server logs kept in {log_dir}")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0

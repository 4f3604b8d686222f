"""``freepik-mock``: serve the fake, run the contract tests, check the spec for drift.

Every ``serve`` option has an environment variable ``FREEPIK_MOCK_<OPTION>`` (upper case,
dashes as underscores: ``--api-key`` is ``FREEPIK_MOCK_API_KEY``, ``--no-control`` is
``FREEPIK_MOCK_NO_CONTROL=1``); an option given on the command line wins over it. A bad
command line or variable gets one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import math
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from .config import MockConfig, SettingError

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (the usage of ``serve`` is 20 lines)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _Version(argparse.Action):
    """``--version``: the installed distribution's version, looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(f"freepik-mock {version()}")
        parser.exit()


def version() -> str:
    """This kit's version: the installed distribution's, else the package's own."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("freepik-mock")
    except PackageNotFoundError:  # run from a checkout that was never installed
        from . import __version__

        return __version__


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of seconds (e.g. 1,2,4,8)"
        ) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, not {text!r}")
    return value


def _output_file(text: str) -> str:
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"there is no folder {path.parent} to write {text} in")
    return text


def _folder(text: str) -> str:
    problem = _folder_problem(Path(text))
    if problem:
        raise argparse.ArgumentTypeError(f"{text}: {problem}")
    return text


def _folder_problem(path: Path) -> str | None:
    if not path.exists():
        return "no such folder"
    if not path.is_dir():
        return "not a folder"
    return None


def _env_note(flags: Sequence[str], action: str | None) -> str:
    """Where the help says which variable an option reads: the README's rule applied
    to the option's first spelling."""
    from .config import ENV_PREFIX

    variable = ENV_PREFIX + flags[0].removeprefix("--").upper().replace("-", "_")
    if action in ("store_true", "store_false"):
        return f"(env {variable}=1)"
    if action == "append":
        return f"(env {variable}, comma-separated)"
    return f"(env {variable})"


def _add_serve(sub: Any) -> None:
    parser = sub.add_parser(
        "serve",
        help="run the fake API server",
        description="Run the fake Freepik API. Each option also reads the variable named "
        "after it, FREEPIK_MOCK_<OPTION> (upper case, dashes as underscores); the command "
        "line wins. Unknown FREEPIK_MOCK_* variables are warned about at start.",
    )
    option_of: dict[str, str] = {}

    def add(*flags: str, **kwargs: Any) -> None:
        action = parser.add_argument(*flags, **kwargs)
        action.help = f"{action.help} {_env_note(flags, kwargs.get('action'))}"
        option_of[action.dest] = flags[0]

    add("--host", help="interface to bind (default 127.0.0.1)")
    add("--port", type=int, help="port to bind (default 8080; 0 picks a free one)")
    add(
        "--api-key",
        dest="api_keys",
        action="append",
        metavar="KEY",
        help="accept only this key (repeatable); without it any non-empty key works",
    )
    add(
        "--spec-dir",
        type=Path,
        help="folder of OpenAPI documents to obey (default: the vendored spec)",
    )
    add(
        "--profile",
        choices=["observed", "spec"],
        help="answer as the live API was observed answering (default) or as the spec's examples",
    )
    add(
        "--clock",
        choices=["system", "manual"],
        help="manual freezes time; move it with POST /_mock/clock/advance",
    )
    add("--time-scale", type=float, help="multiply every lifecycle and retry duration")
    add("--in-progress-after", type=float, help="seconds from CREATED to IN_PROGRESS (1)")
    add("--complete-after", type=float, help="seconds from creation to the final status (3)")
    add("--failure-rate", type=float, help="share of tasks that end FAILED, 0..1")
    add("--seed", type=int, help="random seed for --failure-rate")
    add(
        "--webhook-secret",
        dest="webhook_secrets",
        action="append",
        metavar="SECRET",
        help="sign webhooks with this secret (repeat to emulate a rotation)",
    )
    add(
        "--signing",
        choices=["freepik", "standard-webhooks"],
        help="freepik: HMAC key is the secret's UTF-8 bytes; standard-webhooks: whsec_ base64",
    )
    add(
        "--webhook-retry-delays",
        type=_floats,
        metavar="S,S,...",
        help="seconds between webhook attempts (default 1,2,4,8: five attempts)",
    )
    add("--webhook-timeout", type=float, help="seconds to wait for a webhook receiver (10)")
    add(
        "--webhook-allow",
        action="append",
        metavar="HOST",
        help="also deliver webhooks to this host (loopback is always allowed)",
    )
    add("--latency-ms", type=int, help="add this latency to every API response")
    add(
        "--rate-limit",
        action="store_true",
        default=None,
        help="answer 429 past Freepik's documented per-IP limits",
    )
    # --admin-token and --no-admin: the names before "control", kept for old command lines.
    add(
        "--control-token",
        "--admin-token",
        dest="control_token",
        metavar="TOKEN",
        help="require the x-mock-control-token header on /_mock routes",
    )
    add(
        "--no-control",
        "--no-admin",
        dest="control",
        action="store_false",
        default=None,
        help="turn the /_mock control API off",
    )
    add("--access-log", action="store_true", default=None, help="log every request (slower)")
    add("--max-body-bytes", type=int, help="answer 413 to larger request bodies (1048576)")
    add(
        "--body-timeout",
        type=float,
        help="answer 408 when a request body takes longer than this many seconds (30)",
    )
    add("--keep-alive-timeout", type=float, help="close idle connections after this (5 s)")
    add(
        "--http",
        choices=["auto", "httptools", "h11"],
        help="HTTP implementation (auto: httptools when installed, else h11)",
    )
    add("--max-header-bytes", type=int, help="largest request head accepted (16384)")
    add(
        "--state",
        metavar="PATH|URL",
        help="keep state in this SQLite file or Redis (redis://host:port/db), shared by "
        "every process naming it and kept across restarts (default: in memory only)",
    )
    add(
        "--workers",
        type=int,
        metavar="N",
        help="serve from N processes sharing the socket (needs --state; default 1)",
    )
    add(
        "--media-check",
        choices=["off", "url", "probe"],
        help="check reference media: off, url (scheme and extension; default) or probe "
        "(download from loopback/fixtures/--media-root and measure; needs the probe extra)",
    )
    add("--media-root", type=Path, help="folder that file:// media URLs may point into")
    add("--media-max-bytes", type=int, help="download cap for probed media (209715200)")
    add(
        "--brand",
        choices=["freepik", "magnific"],
        help="freepik, or magnific: the rebrand's x-magnific-api-key header (freepik)",
    )
    add(
        "--max-namespaces",
        type=int,
        help="most namespaces (x-freepik-mock-namespace) this fake holds, default included (1000)",
    )
    add(
        "--result-url-ttl",
        type=float,
        help="seconds a result URL works after the answer that gave it, on the fake's clock (3600)",
    )
    parser.set_defaults(command=_serve, option_of=option_of)


def _config_from(args: argparse.Namespace) -> MockConfig:
    """The settings ``args`` and the environment give; ``SettingError`` or ``ValueError``
    (naming the variable) if they cannot work."""
    from .config import MockConfig

    overrides: dict[str, Any] = {}
    for item in dataclasses.fields(MockConfig):
        value = getattr(args, item.name, None)
        if value is not None:
            overrides[item.name] = tuple(value) if isinstance(value, list) else value
    return MockConfig.from_env(**overrides)


def _where(name: str, args: argparse.Namespace) -> str:
    """How the user gave setting ``name``: its option, or the variable that set it."""
    from .config import env_variables

    option: str = getattr(args, "option_of", {}).get(name, name)
    if getattr(args, name, None) is None:
        for variable, setting in env_variables().items():
            if setting == name and variable in os.environ:
                return variable
    return option


def _setting_problem(exc: SettingError, args: argparse.Namespace) -> str:
    return exc.render(lambda name: getattr(args, "option_of", {}).get(name, name))


def _folders_problem(config: MockConfig, args: argparse.Namespace) -> str | None:
    """A folder setting naming no folder: said at start, not at the first request."""
    for name in ("spec_dir", "media_root"):
        path: Path | None = getattr(config, name)
        problem = _folder_problem(Path(path)) if path is not None else None
        if problem:
            return f"{_where(name, args)} {path}: {problem}"
    return None


def banner(config: MockConfig) -> list[str]:
    """What a newcomer needs to know of a fake that just started, one line each (no
    secret: keys are counted, never shown)."""
    if config.clock == "manual":
        clock = "manual: time moves only with POST /_mock/clock/advance"
    else:
        scale = config.time_scale
        clock = (
            f"system: a task is IN_PROGRESS after {config.in_progress_after * scale:g} s "
            f"and ends after {config.complete_after * scale:g} s"
        )
    keys = len(config.api_keys)
    if keys:
        accepted = f"{keys} configured key{'s' if keys > 1 else ''} accepted, others get 401"
    else:
        accepted = "any non-empty key is accepted (--api-key to accept only yours)"
    if not config.control:
        control = "off (--no-control): only /_mock/health and media answer"
    elif config.control_token is not None:
        control = "open to any client that sends the x-mock-control-token header"
    else:
        control = "open to loopback clients only (--control-token to open it to others)"
    profile = {
        "observed": "observed: answers as the live API was recorded answering",
        "spec": "spec: answers as the spec's examples word them",
    }[config.profile]
    access = (
        "on: one line per request"
        if config.access_log
        else "off: requests are not logged (--access-log logs each)"
    )
    workers = f", served by {config.workers} worker processes" if config.workers > 1 else ""
    state = (
        "in memory: this process only (--state to share or keep it)"
        if config.state is None
        else f"shared in {_redacted(config.state)}{workers}"
    )
    return [
        f"  clock: {clock}",
        f"  API keys: {accepted}",
        f"  control API /_mock: {control}",
        f"  profile: {profile}",
        f"  access log: {access}",
        f"  state: {state}",
    ]


def _redacted(state: str) -> str:
    """A state URL without the password it may carry."""
    scheme, found, rest = state.partition("://")
    if found and "@" in rest:
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return state


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for uvicorn. It says IPPROTO_TCP because asyncio sets
    TCP_NODELAY only on such sockets; without it (no uvloop) every response waited
    about 40 ms for a delayed ACK: 1,450 req/s at 64 connections instead of 33,000."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_options(config: MockConfig) -> dict[str, Any]:
    """The ``uvicorn.Config`` settings ``serve`` runs an app with, for ``config`` (the
    benchmark's bare app is served with these too)."""
    from .droppable import protocol_class

    return {
        "log_level": "info" if config.access_log else "warning",  # access lines are INFO
        "access_log": config.access_log,
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
        "timeout_keep_alive": config.keep_alive_timeout,
        "h11_max_incomplete_event_size": config.max_header_bytes,
        # uvicorn's own protocols, able to drop a connection for a `drop` fault, and
        # writing each answer to the socket in one piece (droppable.py).
        "http": protocol_class(config.http),
        # No `server` header among the live answers recorded: one header less per answer.
        "server_header": False,
        "ws": "none",  # the fake serves no WebSocket: nothing to import for it
        # X-Forwarded-For/-Proto are read only when the user names the proxies to
        # trust (uvicorn's FORWARDED_ALLOW_IPS); otherwise a layer less per request.
        "proxy_headers": "FORWARDED_ALLOW_IPS" in os.environ,
    }


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .config import SettingError, unknown_env_variables
    from .spec import SpecError

    warnings = [f"freepik-mock: warning: {text}" for text in unknown_env_variables()]
    problem: str | None = None
    sock: socket.socket | None = None
    try:
        config = _config_from(args)
        problem = _folders_problem(config, args)
        if problem is None:
            try:
                sock = listening_socket(config.host, config.port)
            except OSError as exc:
                print(
                    f"freepik-mock: cannot bind {config.host}:{config.port}: {exc}", file=sys.stderr
                )
                return 2
            # Listening while the app is built: a client that connects early (a test
            # waiting for the port) waits for its answer instead of being refused.
            sock.listen(2048)
            app = create_app(config)
    except SettingError as exc:
        problem = _setting_problem(exc, args)
    except ValueError as exc:
        problem = str(exc)
    except SpecError as exc:
        problem = f"{_where('spec_dir', args)}: {exc}"
    except OSError as exc:
        problem = f"cannot start: {exc}"
    if problem is not None:
        if sock is not None:
            sock.close()
        for line in [*warnings, f"freepik-mock: {problem}"]:
            print(line, file=sys.stderr)
        return 2
    assert sock is not None  # bound above whenever no problem was found
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if family == socket.AF_INET6 else config.host
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_options(config)))

    def stop(signum: int, frame: object) -> None:
        server.should_exit = True

    def run() -> None:
        # SIGTERM/SIGINT is a normal stop: graceful (in-flight requests finish, state is
        # flushed), then exit 0. This handler covers a signal that comes before uvicorn
        # installs its own, and the one uvicorn re-raises after shutting down (which
        # would otherwise kill the process with -15).
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])

    # The URL first: tests and tools read the first line of stdout.
    print(f"freepik-mock serving on http://{host}:{port}", flush=True)
    print("\n".join([*warnings, *banner(config)]), file=sys.stderr, flush=True)
    # What exists now (modules, the spec, compiled validators) lives as long as the
    # server: out of the collector's full passes, a pass then takes 7 ms instead of 27
    # (measured with 50,000 creates; one pass every few seconds under load).
    gc.freeze()
    gc.enable()  # paused by main() for start-up
    status = 0
    if config.workers > 1:
        from .workers import run_workers

        def run_worker() -> None:
            # An app of its own (about 20 ms): no connection, timer or random generator
            # crosses the fork; the parent's app only proved that the settings work.
            server.config.app = create_app(config)
            run()

        status = run_workers(config.workers, run_worker, prepare=app.state.mock.state.close)
    else:
        run()
    print("freepik-mock stopped", flush=True)
    return status


def _add_contract(sub: Any) -> None:
    parser = sub.add_parser(
        "contract",
        help="run the contract tests against the fake, a URL, or the real API",
        add_help=False,
    )
    parser.add_argument("contract_args", nargs=argparse.REMAINDER)
    parser.set_defaults(command=_contract)


def _contract(args: argparse.Namespace) -> int:
    # A separate program, so that mockserver never imports contract_tests.
    argv = [sys.executable, "-m", "contract_tests", *args.contract_args]
    return subprocess.call(argv, env=os.environ.copy())


def _add_drift(sub: Any) -> None:
    parser = sub.add_parser(
        "drift",
        help="compare the vendored spec with Freepik's upstream spec or docs",
        description="Compare the vendored spec with upstream and class every change as "
        "breaking, non-breaking or info for a client of the API. Exit 0: no drift (info "
        "only); 1: breaking; 2: non-breaking only; 3: upstream could not be fetched or read.",
    )
    add = parser.add_argument
    add(
        "--upstream",
        action="append",
        default=[],
        metavar="URL|FILE",
        help="an OpenAPI document or a Markdown docs page with a ```yaml block (repeatable; "
        "default: the full upstream spec)",
    )
    add(
        "--format",
        dest="fmt",
        choices=["text", "json", "junit"],
        default="text",
        help="text for people (default), json for scripts, junit for CI test reports",
    )
    add(
        "--fail-on",
        choices=["breaking", "non-breaking", "any"],
        default="non-breaking",
        help="breaking: only breaking drift exits non-zero; non-breaking (default): breaking "
        "exits 1, non-breaking 2; any: info-only drift (descriptions, examples) exits 2 too",
    )
    add(
        "--require-all",
        action="store_true",
        help="a covered operation missing upstream is breaking (use with the full spec)",
    )
    add(
        "--spec-dir",
        type=_folder,
        metavar="DIR",
        help="the vendored spec folder to compare and --update (default: the installed one)",
    )
    add(
        "--update",
        action="store_true",
        help="accept upstream: rewrite the vendored files that drifted and PROVENANCE.md; "
        "the exit code is then that of the drift left after the rewrite",
    )
    add(
        "--show-info",
        action="store_true",
        help="list info findings one by one in the text report (default: one line per rule "
        "with a count; --format json always has them all)",
    )
    add(
        "--output",
        type=_output_file,
        metavar="FILE",
        help="write the report to FILE instead of stdout",
    )
    add("--timeout", type=_seconds, default=30.0, metavar="SECONDS", help="per fetch (30)")
    parser.set_defaults(command=_drift)


def _drift(args: argparse.Namespace) -> int:
    from .drift import FailOn, run_drift

    return run_drift(
        args.upstream,
        fmt=args.fmt,
        fail_on=FailOn(args.fail_on),
        require_all=args.require_all,
        spec_dir=args.spec_dir,
        update=args.update,
        output=args.output,
        timeout=args.timeout,
        show_info=args.show_info,
    )


_COMMANDS: dict[str, Callable[[Any], None]] = {
    "serve": _add_serve,
    "contract": _add_contract,
    "drift": _add_drift,
}


def main(argv: Sequence[str] | None = None) -> int:
    # Start-up allocates what lives as long as the process (modules, the spec, the
    # validators): the collector would scan it again and again for nothing, about 4 ms
    # of a 0.1 s start. _serve turns it back on once that is frozen.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(argv)
    finally:
        if collecting:
            gc.enable()


def _main(argv: Sequence[str] | None) -> int:
    parser = _Parser(
        prog="freepik-mock",
        description="A faithful offline fake of Freepik's Kling 3 Omni Standard "
        "video-to-video API.",
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    argv = list(sys.argv[1:] if argv is None else argv)
    # The command named, alone (part of every start-up); all of them for help or a
    # command argparse must refuse with the list of choices.
    named = _COMMANDS.get(argv[0]) if argv else None
    for add_command in [named] if named is not None else _COMMANDS.values():
        add_command(sub)
    if argv[:1] == ["contract"]:
        # argparse.REMAINDER does not capture leading options (--target ...): pass all on.
        return _contract(argparse.Namespace(contract_args=argv[1:]))
    args = parser.parse_args(argv)
    command: Command | None = getattr(args, "command", None)
    if command is None:
        parser.print_help()
        return 2
    return command(args)


if __name__ == "__main__":
    sys.exit(main())

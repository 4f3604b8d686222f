"""The Python ceiling on this machine: a bare Starlette app answering a constant JSON.

Served by uvicorn exactly as ``freepik-mock serve`` serves the fake (its settings,
``mockserver.cli.uvicorn_options``: one worker, no access log, the fake's protocol class
that writes each answer in one piece, no ``server`` header, no proxy headers), so the
ratio fake / bare says what the fake's own work costs. ``--protocol stock`` serves it
with uvicorn's own settings instead: the start-up measure uses it, since those settings
and the fake's protocol class are imported from the fake's package, and importing that
package is part of the fake's start-up, not the ceiling's.

    python -m benchmarks.bare_app --port 8090
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = (
    b'{"data":{"generated":[],"task_id":"00000000-0000-0000-0000-000000000000","status":"CREATED"}}'
)


async def constant(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


def create_bare_app() -> Starlette:
    """Every path and method used by the benchmark cells answers the same constant."""
    return Starlette(
        routes=[Route("/{path:path}", constant, methods=["GET", "POST"])],
    )


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument(
        "--protocol",
        choices=("fake", "stock"),
        default="fake",
        help="fake: the HTTP protocol class `freepik-mock serve` uses; stock: uvicorn's own",
    )
    args = parser.parse_args(argv)
    options: dict[str, Any] = {"log_level": "warning", "access_log": False}
    if args.protocol == "fake":
        from mockserver import MockConfig
        from mockserver.cli import uvicorn_options

        options = uvicorn_options(MockConfig())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    print(f"bare app serving on http://{args.host}:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(create_bare_app(), **options)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A webhook receiver that is slow on purpose: it answers every request after a delay.

The benchmark points 1,000 tasks' webhooks at it, so that deliveries stay pending
while it measures how fast the fake still creates tasks. Loopback only.

    python -m benchmarks.slow_receiver --port 8099 --delay 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

_ANSWER = b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"


class SlowReceiver:
    """Answers each webhook after ``delay`` seconds; ``GET /count`` answers at once
    with how many webhooks have arrived so far (they are all still waiting)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if head.startswith(b"GET /count "):
                body = str(self.received).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: %d\r\n\r\n"
                    % len(body)
                    + body
                )
            else:
                self.received += 1
                await asyncio.sleep(self.delay)
                writer.write(_ANSWER)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


async def serve(port: int, delay: float) -> None:
    receiver = SlowReceiver(delay)
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", port, backlog=2048)
    print(f"slow receiver on http://127.0.0.1:{port} (answers after {delay:g} s)", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A webhook receiver that answers late.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=60.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.delay))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The socket ``freepik-mock serve`` listens on gets TCP_NODELAY from plain asyncio too."""

from __future__ import annotations

import asyncio
import socket

from mockserver.cli import listening_socket


async def nodelay_of_accepted_connection() -> int:
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted_socket = writer.get_extra_info("socket")
        seen.set_result(accepted_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=sock)
    try:
        _, client = await asyncio.open_connection("127.0.0.1", port)
        value = await asyncio.wait_for(seen, 10)
        client.close()
    finally:
        server.close()
        await server.wait_closed()
    return value


def test_asyncio_turns_off_nagle_on_served_connections() -> None:
    """Without uvloop, a socket that does not say IPPROTO_TCP keeps Nagle's algorithm,
    and each response waits for a delayed ACK (about 40 ms)."""
    loop = asyncio.new_event_loop()  # the standard loop, whatever policy is installed
    try:
        assert loop.run_until_complete(nodelay_of_accepted_connection()) != 0
    finally:
        loop.close()

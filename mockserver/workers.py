"""``serve --workers N``: N processes serving one listening socket.

The parent builds the app (spec, validators) and binds the socket, then forks; every
worker inherits both, so start-up is paid once and the kernel spreads connections over
the workers. State is shared through the backend (``state.py``), never through memory:
each worker opens its own connection to it after the fork. The parent only watches: a
worker that dies is started again, and SIGTERM or SIGINT stops them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable

__all__ = ["run_workers"]

# A worker that dies sooner than this after it started is not started again: it would
# only die again (a bad setting, a state server gone), so the whole server stops.
_QUICK_DEATH_S = 2.0


def run_workers(count: int, serve: Callable[[], None], prepare: Callable[[], None]) -> int:
    """Run ``serve`` in ``count`` forked processes until told to stop; exit status 0
    when they all stopped on request. ``prepare`` runs before each fork (it lets go of
    connections a child must not share)."""
    stopping = False
    started: dict[int, float] = {}

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in started:
            _signal(pid, signal.SIGTERM)

    def spawn() -> None:
        prepare()
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            status = 0
            try:
                serve()
            except BaseException:
                status = 1
                raise
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        started[pid] = time.monotonic()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(count):
        spawn()
    status = 0
    while started:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        began = started.pop(pid, None)
        if began is None or stopping:
            continue
        lived = time.monotonic() - began
        print(
            f"freepik-mock: worker {pid} ended ({_described(code)}) after {lived:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        if lived < _QUICK_DEATH_S:
            status = 1
            stop(signal.SIGTERM, None)
        else:
            spawn()
    return status


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.kill(pid, signum)


def _described(code: int) -> str:
    if os.WIFSIGNALED(code):
        return f"signal {os.WTERMSIG(code)}"
    return f"exit status {os.WEXITSTATUS(code)}"

"""Which hosts the fake talks to on its own: the one loopback check, and the one policy on
where webhooks may go.

The fake sends webhooks (and, with ``--media-check probe``, downloads media) to URLs its
clients chose. Left open, that makes it a way into whatever network it runs in, so by
default it only reaches loopback hosts; ``--webhook-allow HOST`` adds hosts, and
``webhook_allow_any`` lifts the rule for setups that want it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["WebhookHostPolicy", "is_loopback_host"]


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is loopback as written: a 127.0.0.0/8 or ::1 literal (bracketed or
    not), or ``localhost``. Other names are not resolved to find out (what a name resolves
    to can change between this check and the connection), so they need --webhook-allow."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class WebhookHostPolicy:
    """The hosts webhooks may be delivered to: loopback, the ``allowed`` ones (compared
    without case), or any host at all with ``allow_any``."""

    def __init__(self, allowed: Iterable[str] = (), *, allow_any: bool = False) -> None:
        self.allowed = frozenset(host.lower() for host in allowed)
        self.allow_any = allow_any

    def __repr__(self) -> str:
        return f"WebhookHostPolicy(allowed={sorted(self.allowed)!r}, allow_any={self.allow_any})"

    def allows(self, host: str) -> bool:
        return self.allow_any or host.lower() in self.allowed or is_loopback_host(host)

"""freepik-mock: a faithful offline fake of Freepik's Kling 3 Omni Standard video-to-video API.

The public surface is small: build an app with :func:`create_app` and a
:class:`MockConfig`, and check webhooks in your own tests with :func:`verify`.
Test your own app against the fake with :class:`FreepikMock` (in-process, for httpx)
or :class:`FreepikMockServer` (a live server); the pytest plugin gives both as fixtures.

The names are imported at their first use (PEP 562), so that ``freepik-mock serve``
never imports the test harnesses (respx, httpx): about 60 ms of its start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .lazy_imports import defer_rfc3987_syntax

defer_rfc3987_syntax()  # before anything imports jsonschema: 0.7 s of start-up

if TYPE_CHECKING:
    from .app import create_app
    from .config import MockConfig
    from .control import MockControlError
    from .testing import FreepikMock, FreepikMockServer
    from .webhooks import WebhookVerificationError, verify

__all__ = [
    "FreepikMock",
    "FreepikMockServer",
    "MockConfig",
    "MockControlError",
    "WebhookVerificationError",
    "__version__",
    "create_app",
    "verify",
]

__version__ = "0.1.0"

# public name -> the module defining it
_HOMES = {
    "FreepikMock": "testing",
    "FreepikMockServer": "testing",
    "MockConfig": "config",
    "MockControlError": "control",
    "WebhookVerificationError": "webhooks",
    "create_app": "app",
    "verify": "webhooks",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

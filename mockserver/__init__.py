"""freepik-mock: a faithful offline fake of Freepik's Kling 3 Omni video API.

The public surface is small: build a Starlette app with :func:`create_app` and a
:class:`MockConfig`, and check webhooks in your own tests with :func:`verify`.
Test your own app against the fake with :class:`FreepikMock` (in-process, for httpx)
or :class:`FreepikMockServer` (a live server); the pytest plugin gives both as fixtures.
"""

from __future__ import annotations

from .app import create_app
from .config import MockConfig
from .control_client import MockControlError
from .signing import WebhookVerificationError, verify
from .testing import FreepikMock, FreepikMockServer

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

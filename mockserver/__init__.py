"""freepik-mock: a faithful offline fake of Freepik's Kling 3 Omni Standard video-to-video API.

The public surface is small: build an app with :func:`create_app` and a
:class:`MockConfig`, and check webhooks in your own tests with :func:`verify`.
Test your own app against the fake with :class:`FreepikMock` (in-process, for httpx)
or :class:`FreepikMockServer` (a live server); the pytest plugin gives both as fixtures.
"""

from .lazy_imports import defer_rfc3987_syntax

defer_rfc3987_syntax()  # before anything imports jsonschema: 0.7 s of start-up

from .app import create_app  # noqa: E402
from .config import MockConfig  # noqa: E402
from .control import MockControlError  # noqa: E402
from .testing import FreepikMock, FreepikMockServer  # noqa: E402
from .webhooks import WebhookVerificationError, verify  # noqa: E402

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

"""freepik-mock: a faithful offline fake of Freepik's Kling 3 Omni Standard video-to-video API.

The public surface is small: build an app with :func:`create_app` and a
:class:`MockConfig`, and check webhooks in your own tests with :func:`verify`.
"""

from .app import create_app
from .config import MockConfig
from .webhooks import WebhookVerificationError, verify

__all__ = ["MockConfig", "WebhookVerificationError", "__version__", "create_app", "verify"]

__version__ = "0.1.0"

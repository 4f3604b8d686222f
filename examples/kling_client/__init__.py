"""A small app that turns a reference video into a new one with Freepik's Kling 3 Omni."""

from .client import GenerationFailed, KlingClient
from .webhooks import create_webhook_app, signature_ok

__all__ = ["GenerationFailed", "KlingClient", "create_webhook_app", "signature_ok"]

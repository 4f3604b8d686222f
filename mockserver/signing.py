"""Webhook signatures as Freepik makes them, and the verifier users call in their tests.

Freepik signs ``"{webhook-id}.{webhook-timestamp}.{raw body}"`` with HMAC-SHA256 and
sends ``v1,<base64 signature>`` (several, space-separated, while secrets rotate). The
key is the secret's raw UTF-8 bytes; the Standard Webhooks convention instead
base64-decodes a ``whsec_`` secret, which ``scheme="standard-webhooks"`` selects.

Apart from delivery (``webhooks.py``), so that a test that only verifies webhooks
imports nothing but the standard library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .config import SigningScheme

__all__ = [
    "DEFAULT_WEBHOOK_SECRET",
    "SigningScheme",
    "WebhookVerificationError",
    "sign",
    "signing_key",
    "verify",
]

# Used when no secret is configured: the real API always signs, so the fake does too.
DEFAULT_WEBHOOK_SECRET = "freepik-mock-webhook-secret"


class WebhookVerificationError(Exception):
    """The webhook's headers or signature do not check out; the message says which."""


def signing_key(secret: str, scheme: SigningScheme = "freepik") -> bytes:
    """The HMAC key ``secret`` stands for under ``scheme``; ValueError if it cannot."""
    if scheme == "standard-webhooks":
        encoded = secret.removeprefix("whsec_")
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("a standard-webhooks secret must be base64 (whsec_...)") from exc
    return secret.encode("utf-8")


def _signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    content = webhook_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def sign(
    secrets: Sequence[str],
    webhook_id: str,
    timestamp: int,
    body: bytes,
    scheme: SigningScheme = "freepik",
) -> str:
    """The ``webhook-signature`` header value: one ``v1,<sig>`` per secret."""
    stamp = str(timestamp)
    return " ".join(
        "v1," + _signature(signing_key(secret, scheme), webhook_id, stamp, body)
        for secret in secrets
    )


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    tolerance: float | None = 300,
    scheme: SigningScheme = "freepik",
    now: float | None = None,
) -> Any:
    """Check a received webhook and return its parsed JSON body.

    ``payload`` is the raw request body, exactly as received. ``secret`` may be a list
    (any one matching is enough, as during a rotation). Raises
    :class:`WebhookVerificationError` saying what is wrong.
    """
    body = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    lowered = {key.lower(): value for key, value in headers.items()}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not lowered.get(name):
            raise WebhookVerificationError(f"missing header {name}")
    webhook_id, stamp = lowered["webhook-id"], lowered["webhook-timestamp"]
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp is not an integer: {stamp!r}") from None
    if tolerance is not None:
        current = time.time() if now is None else now
        if abs(current - timestamp) > tolerance:
            raise WebhookVerificationError(
                f"webhook-timestamp {timestamp} is more than {tolerance:g} s from now"
            )
    secrets = [secret] if isinstance(secret, str) else list(secret)
    expected = [_signature(signing_key(s, scheme), webhook_id, stamp, body) for s in secrets]
    for candidate in lowered["webhook-signature"].split():
        version, _, value = candidate.partition(",")
        if version == "v1" and any(hmac.compare_digest(value, e) for e in expected):
            try:
                return json.loads(body)
            except ValueError as exc:
                raise WebhookVerificationError("the signed body is not JSON") from exc
    raise WebhookVerificationError("no signature matches the secret")

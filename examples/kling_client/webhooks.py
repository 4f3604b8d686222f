"""The app's webhook endpoint: checks Freepik's signature, then records the event.

Freepik signs ``"{webhook-id}.{webhook-timestamp}.{raw body}"`` with HMAC-SHA256, keyed
by the webhook secret's UTF-8 bytes, and sends ``v1,<base64 signature>`` (several,
space-separated, while secrets rotate).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def signature_ok(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float, tolerance: float = 300
) -> bool:
    webhook_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not webhook_id or not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    signed = f"{webhook_id}.{stamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    for candidate in headers.get("webhook-signature", "").split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


def create_webhook_app(secret: str) -> Starlette:
    """A Starlette app with ``POST /webhooks/freepik``; accepted events are kept in
    ``app.state.events``, oldest first."""
    events: list[dict[str, object]] = []

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        if not signature_ok(secret, request.headers, body, now=time.time()):
            return JSONResponse({"error": "bad signature"}, status_code=401)
        events.append(json.loads(body))
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/webhooks/freepik", receive, methods=["POST"])])
    app.state.events = events
    return app

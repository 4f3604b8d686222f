"""Webhook signatures: what the fake signs, checked against our own HMAC code, and the
verifier users call in their tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from helpers import our_imports

from mockserver import WebhookVerificationError, verify
from mockserver.signing import DEFAULT_WEBHOOK_SECRET, sign, signing_key


def hmac_b64(key: bytes, content: bytes) -> str:
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def signed_headers(body: bytes, secrets: list[str], webhook_id: str = "msg_1") -> dict[str, str]:
    now = int(time.time())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secrets, webhook_id, now, body),
    }


def test_sign_is_hmac_sha256_of_id_timestamp_and_body_keyed_by_the_secret_bytes() -> None:
    header = sign(["s3cret"], "msg_1", 1700000000, b'{"a":1}')
    assert header == "v1," + hmac_b64(b"s3cret", b'msg_1.1700000000.{"a":1}')


def test_sign_gives_one_signature_per_secret_in_order() -> None:
    header = sign(["old", "new"], "m", 1, b"{}")
    assert header.split(" ") == ["v1," + hmac_b64(k, b"m.1.{}") for k in (b"old", b"new")]


def test_standard_webhooks_keys_are_the_base64_after_whsec() -> None:
    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    assert signing_key(secret, "standard-webhooks") == key
    assert signing_key(secret) == secret.encode()  # freepik: the raw UTF-8 bytes
    header = sign([secret], "m", 1, b"{}", "standard-webhooks")
    assert header == "v1," + hmac_b64(key, b"m.1.{}")


def test_a_standard_webhooks_secret_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValueError, match="must be base64"):
        signing_key("whsec_not base64!", "standard-webhooks")


def test_the_default_secret_is_a_usable_key() -> None:
    assert signing_key(DEFAULT_WEBHOOK_SECRET) == DEFAULT_WEBHOOK_SECRET.encode()


def test_verify_accepts_a_good_signature_and_returns_the_body() -> None:
    body = b'{"task_id":"t","status":"COMPLETED","generated":[]}'
    headers = signed_headers(body, ["other", "secret"])
    title_case = {name.title(): value for name, value in headers.items()}
    assert verify(body, title_case, "secret")["status"] == "COMPLETED"
    assert verify(body.decode(), headers, ["nope", "other"])["task_id"] == "t"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"webhook-signature": "v1,AAAA"}, "no signature matches"),
        ({"webhook-signature": "v2,whatever"}, "no signature matches"),
        ({"webhook-timestamp": "1000"}, "from now"),
        ({"webhook-timestamp": "soon"}, "not an integer"),
        ({"webhook-id": ""}, "missing header webhook-id"),
        ({"webhook-signature": ""}, "missing header webhook-signature"),
    ],
)
def test_verify_explains_what_is_wrong(change: dict[str, str], message: str) -> None:
    body = b"{}"
    headers = {**signed_headers(body, ["secret"]), **change}
    with pytest.raises(WebhookVerificationError, match=message):
        verify(body, headers, "secret")


def test_verify_rejects_a_tampered_body() -> None:
    headers = signed_headers(b'{"status":"FAILED"}', ["secret"], "m")
    with pytest.raises(WebhookVerificationError):
        verify(b'{"status":"COMPLETED"}', headers, "secret")
    assert verify(b'{"status":"FAILED"}', headers, "secret", tolerance=None) == {"status": "FAILED"}


def test_verify_measures_the_tolerance_from_the_given_now() -> None:
    body = b"{}"
    headers = {
        "webhook-id": "m",
        "webhook-timestamp": "1000",
        "webhook-signature": sign(["s"], "m", 1000, body),
    }
    assert verify(body, headers, "s", now=1200) == {}
    with pytest.raises(WebhookVerificationError, match="more than 300 s"):
        verify(body, headers, "s", now=1301)
    assert verify(body, headers, "s", tolerance=None) == {}


def test_verify_refuses_a_signed_body_that_is_not_json() -> None:
    headers = signed_headers(b"not json", ["s"])
    with pytest.raises(WebhookVerificationError, match="not JSON"):
        verify(b"not json", headers, "s")


def test_verify_with_the_standard_webhooks_scheme() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    now = int(time.time())
    headers = {
        "webhook-id": "m",
        "webhook-timestamp": str(now),
        "webhook-signature": sign([secret], "m", now, b"{}", "standard-webhooks"),
    }
    assert verify(b"{}", headers, secret, scheme="standard-webhooks") == {}
    with pytest.raises(WebhookVerificationError):
        verify(b"{}", headers, secret)  # the freepik scheme keys with other bytes


def test_signing_needs_only_the_settings_types() -> None:
    # A user's test that verifies webhooks should not load the server's delivery code.
    assert our_imports("mockserver.signing") == {"mockserver.config"}

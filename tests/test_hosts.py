"""The one loopback check and the one webhook host policy."""

from __future__ import annotations

import pytest
from helpers import our_imports

from mockserver.hosts import WebhookHostPolicy, is_loopback_host


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("LOCALHOST", True),
        ("localhost.", False),
        ("app.localhost", False),
        ("127.1", False),
        ("0x7f000001", False),
        ("2130706433", False),
        ("10.0.0.1", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_only_literal_loopback_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_the_default_policy_allows_loopback_only() -> None:
    policy = WebhookHostPolicy()
    assert policy.allows("127.0.0.1")
    assert policy.allows("localhost")
    assert not policy.allows("example.com")
    assert not policy.allows("10.0.0.1")


def test_allowed_hosts_are_matched_without_case_and_exactly() -> None:
    policy = WebhookHostPolicy(["Hooks.Example.com"])
    assert policy.allows("hooks.example.com")
    assert policy.allows("HOOKS.EXAMPLE.COM")
    assert not policy.allows("evil.hooks.example.com")
    assert not policy.allows("example.com")
    assert policy.allows("::1")  # loopback stays allowed


def test_allow_any_allows_every_host() -> None:
    policy = WebhookHostPolicy(allow_any=True)
    assert policy.allows("example.com")
    assert policy.allows("10.0.0.1")


def test_hosts_is_a_leaf() -> None:
    assert our_imports("mockserver.hosts") == set()

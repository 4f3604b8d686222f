"""The pytest plugin: ``freepik_mock`` and ``freepik_mock_server`` fixtures.

Installed with the package (entry point ``pytest11: freepik_mock``), so a test only
asks for a fixture. Each test gets a fresh fake; nothing carries over.

Settings come from the ``freepik_mock`` marker (closest wins) and then from indirect
parametrization of the fixture, e.g.::

    @pytest.mark.freepik_mock(api_keys=["test-key"], webhook_secrets=["s3cret"])
    def test_x(freepik_mock): ...

    @pytest.mark.parametrize("freepik_mock", [{"failure_rate": 1.0}], indirect=True)
    def test_y(freepik_mock): ...
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from .testing import FreepikMock, FreepikMockServer

__all__ = ["freepik_mock", "freepik_mock_server"]

MARKER = "freepik_mock"
# FreepikMock's own options, which mean nothing to a live server.
_IN_PROCESS_ONLY = frozenset({"base_url", "webhook_app", "passthrough_unmatched"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): configure the freepik_mock and freepik_mock_server "
        "fixtures: MockConfig fields (api_keys, webhook_secrets, clock, failure_rate, "
        "in_progress_after, complete_after, latency_ms, ...) and, for freepik_mock only, "
        "base_url, webhook_app, passthrough_unmatched.",
    )


def _settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        settings.update(marker.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, Mapping):
            raise pytest.UsageError(
                f"parametrize {request.fixturename} with dicts of settings, not {param!r}"
            )
        settings.update(param)
    return settings


@pytest.fixture
def freepik_mock(request: pytest.FixtureRequest) -> Iterator[FreepikMock]:
    """The fake Freepik API, in-process, for httpx clients; a manual clock by default."""
    with FreepikMock(**_settings(request)) as mock:
        yield mock


@pytest.fixture
def freepik_mock_server(request: pytest.FixtureRequest) -> Iterator[FreepikMockServer]:
    """The fake Freepik API on a free 127.0.0.1 port (``.base_url``), for any client."""
    settings = {k: v for k, v in _settings(request).items() if k not in _IN_PROCESS_ONLY}
    with FreepikMockServer(**settings) as server:
        yield server

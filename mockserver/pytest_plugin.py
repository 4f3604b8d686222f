"""The pytest plugin: ``freepik_mock`` and ``freepik_mock_server`` fixtures.

Installed with the package (entry point ``pytest11: freepik_mock``), so a test only
asks for a fixture. Each test gets a fresh fake; nothing carries over.

Settings come from the ``freepik_mock`` marker (closest wins) and then from indirect
parametrization of the fixture, e.g.::

    @pytest.mark.freepik_mock(api_keys=["test-key"], webhook_secrets=["s3cret"])
    def test_x(freepik_mock): ...

    @pytest.mark.parametrize("freepik_mock", [{"failure_rate": 1.0}], indirect=True)
    def test_y(freepik_mock): ...

With ``--freepik-mock-shared`` (or ``--freepik-mock-url URL``, a fake served elsewhere),
``freepik_mock_server`` is one server for the whole run, shared by every pytest-xdist
worker, each in a namespace of its own: ``PYTEST_XDIST_WORKER`` (``main`` without
xdist), after ``--freepik-mock-namespace PREFIX`` when given (a CI job's id). The
controller process starts that server and hands its URL to the workers; each test starts
with its namespace reset. A test with settings of its own (a marker, parametrization)
gets a server of its own, as without the option.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from .testing import FreepikMock, FreepikMockServer, RemoteFreepikMock

__all__ = ["freepik_mock", "freepik_mock_server", "freepik_mock_shared", "shared_namespace"]

MARKER = "freepik_mock"
# FreepikMock's own options, which mean nothing to a live server.
_IN_PROCESS_ONLY = frozenset({"base_url", "webhook_app", "passthrough_unmatched"})
# How the controller hands the shared server's URL to pytest-xdist workers.
_URL_INPUT = "freepik_mock_url"
_SERVER = pytest.StashKey[FreepikMockServer]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("freepik_mock")
    group.addoption(
        "--freepik-mock-shared",
        action="store_true",
        default=False,
        help="freepik_mock_server: one server for the whole run, shared by xdist "
        "workers, each in its own namespace",
    )
    group.addoption(
        "--freepik-mock-url",
        default=os.environ.get("FREEPIK_MOCK_URL"),
        metavar="URL",
        help="freepik_mock_server: share this running fake instead of starting one "
        "(env FREEPIK_MOCK_URL)",
    )
    group.addoption(
        "--freepik-mock-namespace",
        default=os.environ.get("FREEPIK_MOCK_NAMESPACE"),
        metavar="PREFIX",
        help="prefix of each worker's namespace on the shared fake, e.g. the CI job id "
        "(env FREEPIK_MOCK_NAMESPACE)",
    )


def _shared(config: pytest.Config) -> bool:
    return bool(config.getoption("freepik_mock_shared") or config.getoption("freepik_mock_url"))


def shared_namespace(prefix: str | None, worker: str | None) -> str:
    """The namespace of one worker on the shared fake: ``[PREFIX-]WORKER``."""
    worker = worker or "main"
    return f"{prefix}-{worker}" if prefix else worker


class _XdistHooks:
    """Registered only where pytest-xdist is, whose hook this is."""

    @staticmethod
    def pytest_configure_node(node: Any) -> None:
        server = node.config.stash.get(_SERVER, None)
        if server is not None:
            node.workerinput[_URL_INPUT] = server.base_url


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): configure the freepik_mock and freepik_mock_server "
        "fixtures: MockConfig fields (api_keys, webhook_secrets, clock, failure_rate, "
        "in_progress_after, complete_after, latency_ms, ...) and, for freepik_mock only, "
        "base_url, webhook_app, passthrough_unmatched.",
    )
    # The controller (or a run without xdist) starts the shared server; workers get its
    # URL through their workerinput.
    is_worker = hasattr(config, "workerinput")
    if _shared(config) and not is_worker and not config.getoption("freepik_mock_url"):
        config.stash[_SERVER] = FreepikMockServer().start()
    if config.pluginmanager.hasplugin("xdist") and not is_worker:
        config.pluginmanager.register(_XdistHooks(), "freepik_mock_xdist")


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SERVER, None)
    if server is not None:
        del config.stash[_SERVER]
        server.stop()


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


def _shared_url(config: pytest.Config) -> str:
    url = config.getoption("freepik_mock_url")
    if url:
        return str(url)
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    if _URL_INPUT in workerinput:
        return str(workerinput[_URL_INPUT])
    return config.stash[_SERVER].base_url


@pytest.fixture(scope="session")
def freepik_mock_shared(request: pytest.FixtureRequest) -> Iterator[RemoteFreepikMock]:
    """This worker's namespace on the run's shared fake; deleted at the end, so that a
    long-lived fake does not fill up with the namespaces of finished runs."""
    config = request.config
    # The worker id from xdist's own workerinput, not PYTEST_XDIST_WORKER: a pytest run
    # started inside an xdist worker (pytester, a subprocess) inherits that variable.
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    namespace = shared_namespace(
        config.getoption("freepik_mock_namespace"), workerinput.get("workerid")
    )
    token = os.environ.get("FREEPIK_MOCK_CONTROL_TOKEN")
    with RemoteFreepikMock(_shared_url(config), namespace=namespace, control_token=token) as mock:
        yield mock
        mock.delete_namespace()


@pytest.fixture
def freepik_mock_server(
    request: pytest.FixtureRequest,
) -> Iterator[FreepikMockServer | RemoteFreepikMock]:
    """The fake Freepik API on a free 127.0.0.1 port (``.base_url``), for any client;
    with ``--freepik-mock-shared``, this worker's namespace of one shared server (its
    requests send ``.headers``), reset for each test."""
    settings = {k: v for k, v in _settings(request).items() if k not in _IN_PROCESS_ONLY}
    if _shared(request.config) and not settings:
        shared: RemoteFreepikMock = request.getfixturevalue("freepik_mock_shared")
        shared.reset()
        yield shared
        return
    with FreepikMockServer(**settings) as server:
        yield server

"""The pytest plugin, as a user's test suite meets it (run through pytester)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
import pytest
from helpers import run_in_two_workers

from mockserver import FreepikMock, FreepikMockServer

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

HEADER = """
import httpx
import pytest

CREATE = "https://api.freepik.com/v1/ai/reference-to-video/kling-v3-omni-std"
KEY = {"x-freepik-api-key": "test-key"}
BODY = {"video_url": "https://example.com/reference.mp4"}


def create():
    return httpx.post(CREATE, json=BODY, headers=KEY).json()["data"]["task_id"]
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Hypothesis's plugin re-imports hypothesis in every in-process run (about 1 s).
    return pytester.runpytest("-p", "no:hypothesispytest", *args)


def test_the_fixtures_come_with_the_package(pytester: pytest.Pytester) -> None:
    # No conftest, no -p: the pytest11 entry point loads the plugin.
    pytester.makepyfile(
        HEADER
        + """
def test_it(freepik_mock, freepik_mock_server):
    assert freepik_mock.task(create())["status"] == "CREATED"
    assert freepik_mock_server.base_url.startswith("http://127.0.0.1:")
"""
    )
    run(pytester, "--strict-markers").assert_outcomes(passed=1)


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.freepik_mock(**settings):*"])


def test_fixtures_are_what_they_say(freepik_mock: FreepikMock) -> None:
    assert isinstance(freepik_mock, FreepikMock)
    assert freepik_mock.config.clock == "manual"
    created = httpx.post(
        "https://api.freepik.com/v1/ai/reference-to-video/kling-v3-omni-std",
        json={"video_url": "https://example.com/v.mp4"},
        headers={"x-freepik-api-key": "k"},
    )
    assert created.json()["data"]["status"] == "CREATED"


def test_the_server_fixture_serves_on_loopback_until_teardown(
    pytester: pytest.Pytester,
) -> None:
    port_file = pytester.path / "port"
    pytester.makepyfile(
        f"""
import requests

def test_it(freepik_mock_server):
    port = freepik_mock_server.base_url.rsplit(":", 1)[1]
    open({str(port_file)!r}, "w").write(port)
    health = requests.get(freepik_mock_server.base_url + "/_mock/health", timeout=10)
    assert health.json() == {{"status": "ok"}}
"""
    )
    run(pytester).assert_outcomes(passed=1)

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(port_file.read_text())), timeout=5).close()


def test_settings_come_from_the_marker_closest_first(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
pytestmark = pytest.mark.freepik_mock(api_keys=["module-key"], complete_after=60)


def test_module_marker(freepik_mock):
    assert freepik_mock.config.complete_after == 60
    wrong = httpx.post(CREATE, json=BODY, headers=KEY)
    assert wrong.json()["message"].startswith("Unauthorized: The provided API key is invalid")


@pytest.mark.freepik_mock(api_keys=["test-key"])
def test_function_marker_wins(freepik_mock, freepik_mock_server):
    assert freepik_mock.task(create())["status"] == "CREATED"
    assert freepik_mock.config.complete_after == 60
    assert freepik_mock_server.config.api_keys == ("test-key",)
"""
    )
    run(pytester).assert_outcomes(passed=2)


def test_settings_come_from_indirect_parametrization(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
@pytest.mark.parametrize(
    "freepik_mock", [{"failure_rate": 1.0}, {"failure_rate": 0.0}], indirect=True
)
def test_outcome(freepik_mock):
    task_id = create()
    freepik_mock.advance(3)
    expected = "FAILED" if freepik_mock.config.failure_rate else "COMPLETED"
    assert freepik_mock.task(task_id)["status"] == expected
"""
    )
    run(pytester).assert_outcomes(passed=2)


def test_bad_settings_are_reported_at_setup(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest

@pytest.mark.freepik_mock(api_key="singular")
def test_typo(freepik_mock):
    pass

@pytest.mark.parametrize("freepik_mock", ["not-a-dict"], indirect=True)
def test_not_a_dict(freepik_mock):
    pass
"""
    )
    result = run(pytester)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*unknown freepik_mock setting(s) api_key*"])
    result.stdout.fnmatch_lines(["*parametrize freepik_mock with dicts of settings*"])


def test_nothing_leaks_from_one_test_to_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
def test_first(freepik_mock):
    create()
    freepik_mock.add_fault(status=500, times=None)
    freepik_mock.advance(100)


def test_second(freepik_mock):
    assert freepik_mock.tasks() == []
    assert freepik_mock.faults() == []
    assert freepik_mock.journal(kind=None) == []
    assert freepik_mock.webhooks() == []
    assert freepik_mock.task(create())["status"] == "CREATED"
"""
    )
    run(pytester).assert_outcomes(passed=2)


def test_the_users_respx_routes_and_assertions_still_work(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HEADER
        + """
import respx


def test_own_route_beside_the_fake(freepik_mock, respx_mock):
    respx_mock.get("https://example.com/thing").respond(json={"mine": True})
    assert freepik_mock.task(create())["status"] == "CREATED"
    assert httpx.get("https://example.com/thing").json() == {"mine": True}


def test_fake_beside_an_outer_router(respx_mock, freepik_mock):
    respx_mock.get("https://example.com/thing").respond(204)
    assert httpx.get("https://example.com/thing").status_code == 204
    assert freepik_mock.task(create())["status"] == "CREATED"


def test_uncalled_route_still_fails(freepik_mock):
    with respx.mock(assert_all_called=True) as own:
        own.get("https://example.com/never")
        create()
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_uncalled_route_still_fails*", "*not called*"])


def test_other_hosts_fail_unless_passthrough_is_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import httpx
import pytest


def test_fails(freepik_mock):
    with pytest.raises(AssertionError, match="https://example.com/"):
        httpx.get("https://example.com/")


@pytest.mark.freepik_mock(passthrough_unmatched=True)
def test_passes(freepik_mock, freepik_mock_server):
    # 0.0.0.0 reaches the local server without counting as loopback.
    url = freepik_mock_server.base_url.replace("127.0.0.1", "0.0.0.0")
    assert httpx.get(url + "/_mock/health").json() == {"status": "ok"}
"""
    )
    run(pytester).assert_outcomes(passed=2)


# The README's "Testing your app" section is the example, and its snippets run.


def _readme_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Testing your app\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_shows_the_example_test_file_verbatim() -> None:
    example_tests = (EXAMPLES / "tests" / "test_kling_client.py").read_text()
    assert example_tests in _readme_blocks()


def test_the_readme_quotes_the_example_app_verbatim() -> None:
    app_sources = [path.read_text() for path in (EXAMPLES / "kling_client").glob("*.py")]
    quotes = [block for block in _readme_blocks() if not block.startswith("import")]
    assert quotes
    for quote in quotes:
        assert any(quote in source for source in app_sources), quote


def test_the_readme_snippets_pass(pytester: pytest.Pytester) -> None:
    example_tests = (EXAMPLES / "tests" / "test_kling_client.py").read_text()
    snippets = [b for b in _readme_blocks() if b.startswith("import") and b != example_tests]
    assert len(snippets) == 2
    pytester.makepyfile(**{f"test_snippet_{i}": code for i, code in enumerate(snippets)})
    run(pytester).assert_outcomes(passed=3)


XDIST_TESTS = (
    HEADER
    + """
import os

LIST = "https://api.freepik.com/v1/ai/reference-to-video/kling-v3-omni"


def note(what):
    with open(os.environ["WORKERS_LOG"], "a") as log:
        log.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'none')} {what}\\n")


@pytest.mark.parametrize("n", range(1, 7))
def test_in_process_fake_is_this_tests_own(freepik_mock, n):
    ids = [create() for _ in range(n)]
    listed = httpx.get(LIST, headers=KEY).json()["data"]
    assert sorted(t["task_id"] for t in listed) == sorted(ids)
    note("in-process")


@pytest.mark.parametrize("n", range(1, 5))
def test_live_fake_is_this_tests_own(freepik_mock_server, n):
    base = freepik_mock_server.base_url
    with httpx.Client(base_url=base, headers=KEY) as client:
        path = "/v1/ai/reference-to-video/kling-v3-omni"
        ids = [client.post(path + "-std", json=BODY).json()["data"]["task_id"] for _ in range(n)]
        listed = [t["task_id"] for t in client.get(path).json()["data"]]
    assert sorted(listed) == sorted(ids)
    note(base)
"""
)


@pytest.mark.slow
def test_fixtures_are_isolated_across_xdist_workers(tmp_path: Path) -> None:
    """Each pytest-xdist worker, and each test in it, gets a fake of its own: a test sees
    exactly the tasks it created, whichever worker runs it and whatever runs beside it."""
    log = tmp_path / "workers.log"
    result = run_in_two_workers(tmp_path, XDIST_TESTS, log, "-p", "no:hypothesispytest")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10 passed" in result.stdout
    lines = [line.split(" ", 1) for line in log.read_text().splitlines()]
    assert {worker for worker, _ in lines} == {"gw0", "gw1"}
    servers = [where for _, where in lines if where != "in-process"]
    assert len(servers) == 4 and all(s.startswith("http://127.0.0.1:") for s in servers)


# --freepik-mock-shared: one server for the run, a namespace per worker.

SHARED_TESTS = (
    HEADER
    + """
import os

LIST = "https://api.freepik.com/v1/ai/reference-to-video/kling-v3-omni"


def note(what):
    with open(os.environ["WORKERS_LOG"], "a") as log:
        log.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')} {what}\\n")


@pytest.mark.parametrize("n", range(1, 7))
def test_shared_fake_shows_this_tests_tasks_only(freepik_mock_server, n):
    base = freepik_mock_server.base_url
    headers = {**KEY, **freepik_mock_server.headers}
    with httpx.Client(base_url=base, headers=headers) as client:
        path = "/v1/ai/reference-to-video/kling-v3-omni"
        ids = [client.post(path + "-std", json=BODY).json()["data"]["task_id"] for _ in range(n)]
        listed = [t["task_id"] for t in client.get(path).json()["data"]]
    assert sorted(listed) == sorted(ids)
    assert sorted(t["task_id"] for t in freepik_mock_server.tasks()) == sorted(ids)
    note(f"{base} {freepik_mock_server.namespace}")


@pytest.mark.freepik_mock(complete_after=5)
def test_settings_of_its_own_get_a_server_of_its_own(freepik_mock_server):
    assert freepik_mock_server.config.complete_after == 5
    note(f"{freepik_mock_server.base_url} own")
"""
)


def _shared_lines(log: Path) -> list[tuple[str, str, str]]:
    lines = [line.split(" ") for line in log.read_text().splitlines()]
    return [(worker, base, namespace) for worker, base, namespace in lines]


@pytest.mark.slow
def test_xdist_workers_share_one_server_each_in_its_own_namespace(tmp_path: Path) -> None:
    log = tmp_path / "workers.log"
    result = run_in_two_workers(
        tmp_path,
        SHARED_TESTS,
        log,
        "-p",
        "no:hypothesispytest",
        "--freepik-mock-shared",
        "--freepik-mock-namespace",
        "ci-42",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout
    lines = _shared_lines(log)
    shared = [line for line in lines if line[2] != "own"]
    own = [line for line in lines if line[2] == "own"]
    assert {worker for worker, _, _ in shared} == {"gw0", "gw1"}
    assert len({base for _, base, _ in shared}) == 1  # one server for both workers
    assert {(worker, namespace) for worker, _, namespace in shared} == {
        ("gw0", "ci-42-gw0"),
        ("gw1", "ci-42-gw1"),
    }
    assert len(own) == 1 and own[0][1] != shared[0][1]


def test_without_xdist_the_shared_server_serves_every_test_in_one_namespace(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "main.log"
    monkeypatch.setenv("WORKERS_LOG", str(log))
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makepyfile(SHARED_TESTS)
    run(pytester, "--freepik-mock-shared", "-p", "no:randomly").assert_outcomes(passed=7)
    lines = _shared_lines(log)
    shared = {(worker, base, namespace) for worker, base, namespace in lines if namespace != "own"}
    assert len(shared) == 1 and next(iter(shared))[2] == "main"


def test_a_fake_served_elsewhere_is_shared_by_its_url(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import httpx


def test_it(freepik_mock_server):
    assert freepik_mock_server.namespace == "job-7-main"
    url = freepik_mock_server.base_url + "/v1/ai/reference-to-video/kling-v3-omni-std"
    headers = {"x-freepik-api-key": "k", **freepik_mock_server.headers}
    created = httpx.post(url, json={"video_url": "https://e.com/r.mp4"}, headers=headers)
    assert created.status_code == 200
    assert [n["namespace"] for n in freepik_mock_server.namespaces()] == ["default", "job-7-main"]
"""
    )
    with FreepikMockServer() as server:
        result = run(
            pytester,
            "--freepik-mock-url",
            server.base_url,
            "--freepik-mock-namespace",
            "job-7",
            "-p",
            "no:xdist",
        )
        result.assert_outcomes(passed=1)
        # Nothing landed in the default namespace, and the run's own one is gone.
        assert server.namespaces() == [{"namespace": "default", "tasks": 0}]

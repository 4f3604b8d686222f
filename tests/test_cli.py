"""``freepik-mock``'s entry point: the collector paused for start-up and on for serving, a
clear line and exit 2 for every bad command line or variable, --version, the banner."""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import serve_fake

from mockserver import MockConfig
from mockserver.cli import banner, main
from mockserver.config import env_variables

# The vendored spec, as installed.
VENDORED = Path(__file__).resolve().parents[1] / "openapi"

# uvicorn's Server.run replaced by a probe: what would serving start with?
SERVE_PROGRAM = """
import gc
import uvicorn
from mockserver.cli import main

def run(self, sockets=None):
    print("collector on while serving:", gc.isenabled())
    print("start-up objects frozen:", gc.get_freeze_count() > 0)
    for sock in sockets or ():
        sock.close()

uvicorn.Server.run = run
print("exit:", main(["serve", "--host", "127.0.0.1", "--port", "0"]))
print("collector on after main:", gc.isenabled())
"""


@pytest.mark.slow
def test_serving_runs_with_the_collector_on(tmp_path: Path) -> None:
    env = dict(os.environ)
    completed = subprocess.run(
        [sys.executable, "-c", SERVE_PROGRAM], capture_output=True, text=True, env=env, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("freepik-mock serving on http://127.0.0.1:")
    assert lines[1:] == [
        "collector on while serving: True",
        "start-up objects frozen: True",
        "freepik-mock stopped",
        "exit: 0",
        "collector on after main: True",
    ]


@pytest.fixture
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector_restored")
@pytest.mark.parametrize("enabled", [True, False])
def test_main_leaves_the_collector_as_it_found_it(
    enabled: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()
    assert main([]) == 2  # no command: help, and exit status 2
    assert "serve" in capsys.readouterr().out
    assert gc.isenabled() is enabled
    with pytest.raises(SystemExit):
        main(["serve", "--clock", "no-such-clock"])  # argparse refuses
    assert gc.isenabled() is enabled


@pytest.mark.parametrize(
    ("argv", "environ", "profile"),
    [
        ([], {}, "observed"),
        (["--profile", "spec"], {}, "spec"),
        ([], {"FREEPIK_MOCK_PROFILE": "spec"}, "spec"),
        (["--profile", "observed"], {"FREEPIK_MOCK_PROFILE": "spec"}, "observed"),
    ],
)
def test_serve_profile_comes_from_the_option_or_the_environment(
    argv: list[str], environ: dict[str, str], profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    from mockserver.cli import _add_serve, _config_from

    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    _add_serve(parser.add_subparsers(dest="command"))
    assert _config_from(parser.parse_args(["serve", *argv])).profile == profile
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--invalid-params-key", "name"])  # folded into --profile


def test_the_control_options_and_their_former_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("FREEPIK_MOCK_"):
            monkeypatch.delenv(name)
    configs: list[Any] = []

    def create_app(config: Any) -> None:  # what serve would serve, without serving it
        configs.append(config)
        raise ValueError("not serving in this test")

    monkeypatch.setattr("mockserver.app.create_app", create_app)
    assert main(["serve", "--control-token", "t1"]) == 2
    assert main(["serve", "--admin-token", "t2", "--no-admin"]) == 2  # old command lines
    assert main(["serve", "--no-control"]) == 2
    assert main(["serve"]) == 2
    assert [(c.control_token, c.control) for c in configs] == [
        ("t1", True),
        ("t2", False),
        (None, False),
        (None, True),
    ]
    assert "not serving in this test" in capsys.readouterr().err


@pytest.fixture
def no_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FREEPIK_MOCK_* variable of the environment running the tests leaks in."""
    for name in list(os.environ):
        if name.startswith("FREEPIK_MOCK_"):
            monkeypatch.delenv(name)


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"freepik-mock {importlib.metadata.version('freepik-mock')}\n"


# Each serve option, a command line using it, and the variables saying the same. A new
# option fails test_every_serve_option_names_its_variable until it is added here.
SAME_SETTINGS: dict[str, tuple[list[str], dict[str, str]]] = {
    "--host": (["--host", "0.0.0.0"], {"HOST": "0.0.0.0"}),
    "--port": (["--port", "9001"], {"PORT": "9001"}),
    "--api-key": (["--api-key", "k1", "--api-key", "k2"], {"API_KEY": "k1,k2"}),
    "--spec-dir": (["--spec-dir", "/srv/specs"], {"SPEC_DIR": "/srv/specs"}),
    "--profile": (["--profile", "spec"], {"PROFILE": "spec"}),
    "--clock": (["--clock", "manual"], {"CLOCK": "manual"}),
    "--time-scale": (["--time-scale", "0.5"], {"TIME_SCALE": "0.5"}),
    "--in-progress-after": (["--in-progress-after", "0.5"], {"IN_PROGRESS_AFTER": "0.5"}),
    "--complete-after": (["--complete-after", "5"], {"COMPLETE_AFTER": "5"}),
    "--failure-rate": (["--failure-rate", "0.25"], {"FAILURE_RATE": "0.25"}),
    "--seed": (["--seed", "7"], {"SEED": "7"}),
    "--webhook-secret": (["--webhook-secret", "s1"], {"WEBHOOK_SECRET": "s1"}),
    "--signing": (
        ["--signing", "standard-webhooks", "--webhook-secret", "whsec_c2VjcmV0"],
        {"SIGNING": "standard-webhooks", "WEBHOOK_SECRET": "whsec_c2VjcmV0"},
    ),
    "--webhook-retry-delays": (
        ["--webhook-retry-delays", "0.5,1"],
        {"WEBHOOK_RETRY_DELAYS": "0.5,1"},
    ),
    "--webhook-timeout": (["--webhook-timeout", "2"], {"WEBHOOK_TIMEOUT": "2"}),
    "--webhook-allow": (["--webhook-allow", "hooks.example"], {"WEBHOOK_ALLOW": "hooks.example"}),
    "--latency-ms": (["--latency-ms", "5"], {"LATENCY_MS": "5"}),
    "--rate-limit": (["--rate-limit"], {"RATE_LIMIT": "1"}),
    "--control-token": (["--control-token", "t0ken"], {"CONTROL_TOKEN": "t0ken"}),
    "--no-control": (["--no-control"], {"NO_CONTROL": "1"}),
    "--access-log": (["--access-log"], {"ACCESS_LOG": "1"}),
    "--max-body-bytes": (["--max-body-bytes", "10"], {"MAX_BODY_BYTES": "10"}),
    "--body-timeout": (["--body-timeout", "2"], {"BODY_TIMEOUT": "2"}),
    "--keep-alive-timeout": (["--keep-alive-timeout", "2"], {"KEEP_ALIVE_TIMEOUT": "2"}),
    "--http": (["--http", "h11"], {"HTTP": "h11"}),
    "--brand": (["--brand", "magnific"], {"BRAND": "magnific"}),
    "--result-url-ttl": (["--result-url-ttl", "60"], {"RESULT_URL_TTL": "60"}),
    "--max-header-bytes": (["--max-header-bytes", "1000"], {"MAX_HEADER_BYTES": "1000"}),
    "--state": (["--state", "/srv/state.db"], {"STATE": "/srv/state.db"}),
    "--workers": (
        ["--workers", "2", "--state", "/srv/state.db"],
        {"WORKERS": "2", "STATE": "/srv/state.db"},
    ),
    "--media-check": (["--media-check", "probe"], {"MEDIA_CHECK": "probe"}),
    "--media-root": (["--media-root", "/srv/media"], {"MEDIA_ROOT": "/srv/media"}),
    "--media-max-bytes": (["--media-max-bytes", "10"], {"MEDIA_MAX_BYTES": "10"}),
    "--max-namespaces": (["--max-namespaces", "16"], {"MAX_NAMESPACES": "16"}),
}


def _serve_help(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    return capsys.readouterr().out


@pytest.mark.usefixtures("no_variables")
def test_every_serve_option_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    named = {}
    for entry in re.split(r"\n(?=  -)", _serve_help(monkeypatch, capsys)):  # one per option
        found = re.match(r"  (--[a-z-]+).*\(env (FREEPIK_MOCK_[A-Z_]+)", entry, re.DOTALL)
        if found:
            named[found[1]] = found[2]
    assert set(named) == set(SAME_SETTINGS)
    for option, variable in named.items():
        # The README's rule: FREEPIK_MOCK_ and the option, upper case, dashes as underscores.
        assert variable == "FREEPIK_MOCK_" + option[2:].upper().replace("-", "_")
        assert variable in env_variables(), variable


@pytest.mark.parametrize("option", sorted(SAME_SETTINGS))
def test_each_option_s_variable_sets_what_the_option_sets(
    option: str, no_variables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mockserver.cli import _add_serve, _config_from

    argv, variables = SAME_SETTINGS[option]
    parser = argparse.ArgumentParser()
    _add_serve(parser.add_subparsers(dest="command"))
    from_option = _config_from(parser.parse_args(["serve", *argv]))
    for name, value in variables.items():
        monkeypatch.setenv("FREEPIK_MOCK_" + name, value)
    from_variables = _config_from(parser.parse_args(["serve"]))
    assert from_option == from_variables
    assert from_option != MockConfig()  # the sample changes something


def _one_line_refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``argv``; it must exit 2 with a single line on stderr, which is returned."""
    try:
        status = main(argv)
    except SystemExit as exited:  # argparse's refusals
        status = exited.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err.strip()


@pytest.mark.usefixtures("no_variables")
@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["serve", "--port", "70000"],
            "freepik-mock: --port must be within 0..65535 (0 picks a free one), not 70000",
        ),
        (["serve", "--port", "-1"], "--port must be within 0..65535"),
        (
            ["serve", "--port", "http"],
            "freepik-mock serve: argument --port: invalid int value: 'http'",
        ),
        (["serve", "--host", ""], "--host cannot be empty"),
        (
            ["serve", "--spec-dir", "/nonexistent"],
            "freepik-mock: --spec-dir /nonexistent: no such folder",
        ),
        (
            ["serve", "--spec-dir", "{tmp}/empty"],
            "--spec-dir: no OpenAPI documents (*.yaml, *.json) in {tmp}/empty",
        ),
        (
            ["serve", "--spec-dir", "{tmp}/mixed"],
            "--spec-dir: {tmp}/mixed/notes.yaml is not an OpenAPI 3 document",
        ),
        (
            ["serve", "--spec-dir", "{tmp}/mixed/notes.yaml"],
            "--spec-dir {tmp}/mixed/notes.yaml: not a folder",
        ),
        (["serve", "--time-scale", "0"], "--time-scale must be a number > 0, not 0.0"),
        (["serve", "--time-scale", "nan"], "--time-scale must be a number > 0, not nan"),
        (["serve", "--in-progress-after", "-1"], "--in-progress-after must be a number >= 0"),
        (
            ["serve", "--in-progress-after", "5"],
            "--in-progress-after must be at most --complete-after (3), not 5",
        ),
        (["serve", "--complete-after", "inf"], "--complete-after must be a number >= 0, not inf"),
        (["serve", "--failure-rate", "2"], "--failure-rate must be within 0..1, not 2.0"),
        (["serve", "--seed", "x"], "argument --seed: invalid int value: 'x'"),
        (
            ["serve", "--webhook-retry-delays", "1,x"],
            "'1,x' is not a comma-separated list of seconds",
        ),
        (
            ["serve", "--webhook-retry-delays", "1,-2"],
            "--webhook-retry-delays must be numbers >= 0",
        ),
        (["serve", "--webhook-timeout", "0"], "--webhook-timeout must be a number > 0"),
        (["serve", "--webhook-secret", ""], "--webhook-secret cannot be empty"),
        (["serve", "--webhook-allow", ""], "--webhook-allow cannot be an empty host"),
        (["serve", "--api-key", ""], "--api-key cannot be empty or blank"),
        (["serve", "--control-token", ""], "--control-token cannot be empty"),
        (["serve", "--latency-ms", "-1"], "--latency-ms must be >= 0, not -1"),
        (["serve", "--max-body-bytes", "-1"], "--max-body-bytes must be >= 0"),
        (["serve", "--max-header-bytes", "0"], "--max-header-bytes must be > 0"),
        (["serve", "--body-timeout", "0"], "--body-timeout must be a number > 0"),
        (["serve", "--keep-alive-timeout", "-1"], "--keep-alive-timeout must be a number > 0"),
        (["serve", "--media-max-bytes", "0"], "--media-max-bytes must be > 0"),
        (["serve", "--media-root", "/nonexistent"], "--media-root /nonexistent: no such folder"),
        (
            ["serve", "--state", "/nonexistent/state.db"],
            "cannot open state file /nonexistent/state.db",
        ),
        (["serve", "--clock", "sundial"], "argument --clock: invalid choice: 'sundial'"),
        (
            ["serve", "--signing", "standard-webhooks"],
            "freepik-mock: --webhook-secret is needed by --signing=standard-webhooks: "
            "give a secret 'whsec_' followed by the base64 of its key",
        ),
        (["serve", "--no-such-option"], "unrecognized arguments: --no-such-option"),
        (
            ["drift", "--timeout", "0"],
            "freepik-mock drift: argument --timeout: must be a number of seconds > 0, not '0'",
        ),
        (["drift", "--timeout", "nan"], "argument --timeout: must be a number of seconds > 0"),
        (
            ["drift", "--output", "/nonexistent/drift.txt"],
            "there is no folder /nonexistent to write /nonexistent/drift.txt in",
        ),
        (["drift", "--output", "{tmp}"], "argument --output: {tmp} is a folder, not a file"),
        (
            ["drift", "--spec-dir", "/nonexistent"],
            "argument --spec-dir: /nonexistent: no such folder",
        ),
        (["drift", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["sundial"], "argument COMMAND: invalid choice: 'sundial'"),
    ],
)
def test_a_bad_command_line_gets_one_line_and_exit_2(
    argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "mixed").mkdir()
    for spec in ("kling-v3-omni-std.yaml", "kling-v3-omni-tasks.yaml"):
        shutil.copy(VENDORED / spec, tmp_path / "mixed" / spec)
    (tmp_path / "mixed" / "notes.yaml").write_text("notes: not a spec\n")
    argv = [part.replace("{tmp}", str(tmp_path)) for part in argv]
    assert said.replace("{tmp}", str(tmp_path)) in _one_line_refusal(argv, capsys)


@pytest.mark.usefixtures("no_variables")
@pytest.mark.parametrize(
    ("variables", "said"),
    [
        ({"PORT": "http"}, "freepik-mock: FREEPIK_MOCK_PORT: 'http' is not an integer"),
        ({"PORT": "70000"}, "freepik-mock: FREEPIK_MOCK_PORT must be within 0..65535"),
        ({"NO_CONTROL": "maybe"}, "FREEPIK_MOCK_NO_CONTROL: 'maybe' is not a boolean"),
        (
            {"API_KEY": "a", "API_KEYS": "b"},
            "FREEPIK_MOCK_API_KEYS and FREEPIK_MOCK_API_KEY are both set",
        ),
        (
            {"SPEC_DIR": "/nonexistent"},
            "freepik-mock: FREEPIK_MOCK_SPEC_DIR /nonexistent: no such folder",
        ),
        (
            {"SIGNING": "standard-webhooks"},
            "--webhook-secret is needed by FREEPIK_MOCK_SIGNING=standard-webhooks",
        ),
    ],
)
def test_a_bad_variable_gets_one_line_and_exit_2(
    variables: dict[str, str],
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv("FREEPIK_MOCK_" + name, value)
    assert said in _one_line_refusal(["serve"], capsys)


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({}, "  clock: system: a task is IN_PROGRESS after 1 s and ends after 3 s"),
        (
            {"time_scale": 0.5},
            "  clock: system: a task is IN_PROGRESS after 0.5 s and ends after 1.5 s",
        ),
        ({"clock": "manual"}, "  clock: manual: time moves only with POST /_mock/clock/advance"),
        ({}, "  API keys: any non-empty key is accepted (--api-key to accept only yours)"),
        ({"api_keys": ("k-1",)}, "  API keys: 1 configured key accepted, others get 401"),
        ({"api_keys": ("k-1", "k-2")}, "  API keys: 2 configured keys accepted, others get 401"),
        (
            {},
            "  control API /_mock: open to loopback clients only "
            "(--control-token to open it to others)",
        ),
        (
            {"control_token": "t-1"},
            "  control API /_mock: open to any client that sends the x-mock-control-token header",
        ),
        (
            {"control": False},
            "  control API /_mock: off (--no-control): only /_mock/health and media answer",
        ),
        ({}, "  profile: observed: answers as the live API was recorded answering"),
        ({"profile": "spec"}, "  profile: spec: answers as the spec's examples word them"),
        ({}, "  access log: off: requests are not logged (--access-log logs each)"),
        ({"access_log": True}, "  access log: on: one line per request"),
        ({}, "  state: in memory: this process only (--state to share or keep it)"),
        (
            {"state": "redis://:pw@cache:6379/0", "workers": 3},
            "  state: shared in redis://***@cache:6379/0, served by 3 worker processes",
        ),
    ],
)
def test_the_banner_says_how_the_fake_is_set_up(settings: dict[str, Any], said: str) -> None:
    config = MockConfig(**settings)
    lines = banner(config)
    assert said in lines
    assert len(lines) == 6
    assert not any(secret in "".join(lines) for secret in ("k-1", "k-2", "t-1", ":pw@"))


# Serving replaced by a probe, as in SERVE_PROGRAM: what does start-up print?
BANNER_PROGRAM = """
import uvicorn
from mockserver.cli import main

def run(self, sockets=None):
    for sock in sockets or ():
        sock.close()

uvicorn.Server.run = run
raise SystemExit(main(["serve", "--host", "127.0.0.1", "--port", "0"]))
"""


@pytest.mark.slow
def test_start_up_warns_of_unknown_variables_and_says_what_it_serves() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FREEPIK_MOCK_")}
    env.update(
        FREEPIK_MOCK_API_KEY="k-secret-1",  # the README's spelling: once silently ignored
        FREEPIK_MOCK_NO_ADMIN="1",
        FREEPIK_MOCK_WEBHOOK_SECRT="s",
    )
    completed = subprocess.run(
        [sys.executable, "-c", BANNER_PROGRAM], capture_output=True, text=True, env=env, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[0].startswith("freepik-mock serving on http://127.0.0.1:")
    assert completed.stderr.splitlines() == [
        "freepik-mock: warning: FREEPIK_MOCK_WEBHOOK_SECRT is not a setting and is ignored "
        "(did you mean FREEPIK_MOCK_WEBHOOK_SECRET?)",
        "  clock: system: a task is IN_PROGRESS after 1 s and ends after 3 s",
        "  API keys: 1 configured key accepted, others get 401",
        "  control API /_mock: off (--no-control): only /_mock/health and media answer",
        "  profile: observed: answers as the live API was recorded answering",
        "  access log: off: requests are not logged (--access-log logs each)",
        "  state: in memory: this process only (--state to share or keep it)",
    ]
    assert "k-secret-1" not in completed.stderr + completed.stdout


@pytest.mark.slow
def test_a_bad_command_line_exits_2_without_a_traceback_from_the_real_command() -> None:
    for argv in (["--port", "70000"], ["--spec-dir", "/nonexistent"]):
        completed = subprocess.run(
            [sys.executable, "-m", "mockserver", "serve", *argv],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert completed.returncode == 2, completed.stderr
        assert len(completed.stderr.splitlines()) == 1, completed.stderr
        assert completed.stdout == ""


@pytest.mark.slow
def test_served_answers_name_no_server_and_forwarded_headers_need_trusted_proxies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client 203.0.113.9 behind a proxy on this machine asks the loopback-only /_mock.
    forwarded = {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"}
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    with serve_fake(tmp_path) as served, served.client() as client:
        untrusted = client.get("/_mock/requests", headers=forwarded)
    with (
        serve_fake(tmp_path, env={"FORWARDED_ALLOW_IPS": "127.0.0.1"}) as served,
        served.client() as client,
    ):
        trusted = client.get("/_mock/requests", headers=forwarded)
    assert "server" not in untrusted.headers
    # Without trusted proxies the headers are anybody's words: the client is loopback.
    assert untrusted.status_code == 200
    # With them, as uvicorn reads them: the client is the remote one.
    assert trusted.status_code == 403

"""``freepik-mock``'s entry point: the collector paused for start-up and on for serving."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver.cli import main

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

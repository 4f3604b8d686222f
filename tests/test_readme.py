"""The README's examples hold: its curl walk-through runs as written against
``freepik-mock serve`` and answers what the README shows, and its Python example runs.

The README marks what runs with an HTML comment before a fence:
``<!-- readme-test: serve -->`` (the one ``freepik-mock serve`` command the walk-through
needs), ``<!-- readme-test: walkthrough -->`` (console blocks, run in order in one bash
session, so shell variables carry from block to block) and ``<!-- readme-test: python -->``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import closed_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent

# The ports the README's examples name: the fake's default and the webhook receiver's.
README_PORT = 8080
README_HOOK_PORT = 9000

MARKED_BLOCK = re.compile(r"<!-- readme-test: (\w+) -->\n+```\w*\n(.*?)\n```\n", re.DOTALL)
HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?")

# What differs from run to run, replaced in the README's outputs and the real ones alike.
VARYING = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\bak-[0-9a-f]{32}\b"), "ak-<request id>"),
    (re.compile(r"token=exp=\d+~hmac=[0-9a-f]{64}"), "token=exp=<unix>~hmac=<hex>"),
    (re.compile(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT"), "<http date>"),
    (re.compile(r'"now":\d+(\.\d+)?'), '"now":<time>'),
]


@dataclass
class Command:
    """One ``$`` command of a console block and the output the README shows for it."""

    text: str
    output: str


def marked_blocks(kind: str) -> list[str]:
    return [body for found, body in MARKED_BLOCK.findall(README.read_text()) if found == kind]


def _complete(lines: list[str]) -> bool:
    """Whether ``lines`` are a whole shell command: heredocs closed, quotes closed, no
    trailing backslash (shlex says the last two)."""
    tag = HEREDOC.search(lines[0])
    if tag is not None:
        return len(lines) > 1 and lines[-1] == tag.group(1)
    try:
        shlex.split("\n".join(lines))
    except ValueError:
        return False
    return True


def console_commands(block: str) -> list[Command]:
    """Split a console block into commands (``$ `` lines and their continuations) and
    the output lines that follow each."""
    commands: list[Command] = []
    lines = block.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        assert line.startswith("$ "), f"README console line outside a command: {line!r}"
        text = [line[2:]]
        index += 1
        while not _complete(text):
            assert index < len(lines), f"README command never ends: {text[0]!r}"
            text.append(lines[index])
            index += 1
        output: list[str] = []
        while index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        commands.append(Command("\n".join(text), "\n".join(output)))
    return commands


def walkthrough() -> list[Command]:
    return [
        command for block in marked_blocks("walkthrough") for command in console_commands(block)
    ]


def normalised(text: str) -> str:
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text.replace("\r\n", "\n").rstrip("\n")


def on_ports(text: str, port: int, hook_port: int) -> str:
    """The README's text with its ports replaced by the test's."""
    text = text.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{port}")
    return re.sub(rf"\b{README_HOOK_PORT}\b", str(hook_port), text)


def test_the_readme_begins_with_its_two_set_up_commands() -> None:
    fences = re.findall(r"```\w*\n(.*?)\n```", README.read_text(), re.DOTALL)
    assert fences[:2] == [
        "pip install -e . && freepik-mock serve",
        "pip install -e '.[test]' && python -m pytest -n auto",
    ]


def test_the_walkthrough_is_marked_and_elides_nothing() -> None:
    commands = walkthrough()
    assert len(commands) >= 30  # the create, read, results, family, errors, webhooks, media
    for command in commands:
        # An elided URL or body ("...", "…") cannot be run as written.
        assert "..." not in command.text and "…" not in command.text, command.text
    (serve,) = marked_blocks("serve")
    assert serve.startswith("freepik-mock serve ")
    assert "--clock manual" in serve  # the walk-through's answers depend on it
    assert len(marked_blocks("python")) == 1


@pytest.mark.slow
def test_the_curl_walkthrough_answers_what_the_readme_shows(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("the walk-through needs curl")
    (serve,) = marked_blocks("serve")
    arguments = shlex.split(serve)[2:]
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(BIN / "freepik-mock"), "serve", *arguments, "--port", "0"],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        banner = re.compile(r"serving on http://127\.0\.0\.1:(\d+)")
        wait_until(lambda: banner.search(log.read_text()), what=f"serve to start ({log})")
        found = banner.search(log.read_text())
        assert found is not None
        port = int(found.group(1))
        hook_port = closed_port()
        commands = walkthrough()
        script = "".join(
            f"printf '\\n@@readme-test {number}@@\\n'\n{on_ports(command.text, port, hook_port)}\n"
            for number, command in enumerate(commands)
        )
        script += f"printf '\\n@@readme-test {len(commands)}@@\\n'\n"
        # PATH first names this virtualenv, whose python3 has the kit and the test extras.
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        shell = subprocess.Popen(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # so that a receiver it left running is stopped below
        )
        try:
            stdout, stderr = shell.communicate(timeout=120)
        finally:
            # The walk-through stops its own receiver; this is for a run that failed first.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(shell.pid, signal.SIGKILL)
            shell.wait()
        chunks = re.split(r"\n@@readme-test \d+@@\n", stdout)[1:]
        assert len(chunks) == len(commands) + 1, stdout + stderr
        # Every difference at once, each with the README's command, what it shows, and
        # what it answered today.
        differences = [
            f"$ {command.text}\nREADME shows:\n{command.output}\nanswered:\n{got.strip()}\n"
            for command, got in zip(commands, chunks, strict=False)
            if normalised(got) != normalised(on_ports(command.output, port, hook_port))
        ]
        assert not differences, "\n".join(differences) + f"\nstderr:\n{stderr}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.slow
def test_the_starlette_example_runs(tmp_path: Path) -> None:
    (example,) = marked_blocks("python")
    program = tmp_path / "example.py"
    program.write_text(example + "\n")
    completed = subprocess.run(
        [sys.executable, str(program)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr

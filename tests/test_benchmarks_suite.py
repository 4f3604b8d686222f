"""WireMock and the Mockoon CLI, started by the harness, answer every cell as expected
and are stopped with the run. Skipped where java, node or the pinned tools are absent
(``npm ci`` in benchmarks/ installs them)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from benchmarks.cells import CELLS
from benchmarks.procs import ProcessSet, http_request
from benchmarks.suite import MOCKOON, WIREMOCK, prepare_peers, start_targets
from benchmarks.tools import MOCKOON_ENTRY, WIREMOCK_PACKAGE, installed_version
from benchmarks.wiremock import capture_fake_answers

_UUID = re.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

needs_wiremock = pytest.mark.skipif(
    shutil.which("java") is None or installed_version(WIREMOCK_PACKAGE) is None,
    reason="needs java and the pinned WireMock (npm ci in benchmarks/)",
)
needs_mockoon = pytest.mark.skipif(
    shutil.which("node") is None or not MOCKOON_ENTRY.exists(),
    reason="needs node and the pinned Mockoon CLI (npm ci in benchmarks/)",
)


_TOKEN = re.compile(r"token=exp=\d+~hmac=[0-9a-f]{64}")


def _same(body: str) -> str:
    """Two fakes give their tasks different ids and sign result URLs with keys of their own."""
    return _TOKEN.sub("token=<token>", _UUID.sub("<id>", body))


@pytest.mark.slow
@needs_wiremock
def test_wiremock_answers_each_cell_with_the_fakes_status_and_body(tmp_path: Path) -> None:
    java = shutil.which("java")
    assert java is not None
    peers = prepare_peers(tmp_path, java)
    stubs = [json.loads(p.read_text()) for p in (peers.wiremock_root / "mappings").glob("*")]
    assert len(stubs) == len(CELLS)
    with ProcessSet() as procs:
        (target,) = start_targets(procs, tmp_path, [WIREMOCK], peers)
        answers = {}
        for cell in CELLS:
            request = cell.request(target.task_id)
            answers[cell.key] = http_request(
                target.port_for(cell), request.method, request.path, dict(request.headers),
                request.body,
            )  # fmt: skip
        pid = procs.server(WIREMOCK).pid
    statuses = {key: answer[0] if answer else None for key, answer in answers.items()}
    assert statuses == {cell.key: target.expected_status(cell) for cell in CELLS}
    # The bodies WireMock sends are the fake's own (WireMock may chunk them).
    fake, _ = capture_fake_answers()
    for cell in CELLS:
        answer = answers[cell.key]
        assert answer is not None
        body = _unchunk(answer[1]).decode()
        assert _same(body) == _same(fake[cell.key].body.decode()), cell.key
    assert not Path(f"/proc/{pid}").exists()  # stopped (and reaped) with the ProcessSet


@pytest.mark.slow
@needs_mockoon
def test_mockoon_serves_both_vendored_documents_and_validates_nothing(tmp_path: Path) -> None:
    peers = prepare_peers(tmp_path, shutil.which("java") or "java")
    with ProcessSet() as procs:
        (target,) = start_targets(procs, tmp_path, [MOCKOON], peers)
        statuses = {}
        for cell in CELLS:
            request = cell.request(target.task_id)
            answer = http_request(
                target.port_for(cell), request.method, request.path, dict(request.headers),
                request.body,
            )  # fmt: skip
            statuses[cell.key] = answer[0] if answer else None
        pid = procs.server(MOCKOON).pid
    assert target.ports["seed"] != target.ports["tasks"]
    assert statuses == {cell.key: 200 for cell in CELLS}  # the invalid create too
    assert not Path(f"/proc/{pid}").exists()
    # Mockoon's ~/.mockoon-cli went to the run's folder, not the user's home.
    assert (peers.mockoon_home / ".mockoon-cli").exists()


def _unchunk(payload: bytes) -> bytes:
    """The body of a ``Transfer-Encoding: chunked`` payload (as is, if not chunked)."""
    try:
        size_line, _, rest = payload.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
    except ValueError:
        return payload
    body = b""
    while size:
        body += rest[:size]
        rest = rest[size + 2 :]
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
    return body

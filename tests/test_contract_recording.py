"""Recordings: secrets never survive, and the recorded corpus replays against the fake."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_runs import REPO_ROOT, run_contract

from contract_tests.exchange import Exchange
from contract_tests.operations import ContractSpec
from contract_tests.recording import Recorder, load_recordings, replay, scrub
from contract_tests.targets import open_target

SPEC = ContractSpec.load()
CORPUS = REPO_ROOT / "fixtures" / "recordings"
KEY = "fpk-live-9f8e7d6c5b4a39281706"


def test_scrub_removes_secret_named_fields_and_every_literal_secret() -> None:
    value = {
        "headers": {"x-freepik-api-key": KEY, "Authorization": "Bearer abc", "accept": "*/*"},
        "body": {"message": f"bad key {KEY}", "webhook_secret": "whsec_x", "items": [KEY]},
    }
    scrubbed = scrub(value, [KEY])
    assert KEY not in repr(scrubbed)
    assert scrubbed["headers"]["Authorization"] == "[scrubbed]"
    assert scrubbed["headers"]["accept"] == "*/*"
    assert scrubbed["body"]["webhook_secret"] == "[scrubbed]"
    assert scrubbed["body"]["message"] == "bad key [scrubbed]"


def test_a_server_that_echoes_the_key_is_scrubbed_too(tmp_path: Path) -> None:
    echoed = Exchange(
        "GET",
        "/v1/x",
        status=401,
        content_type="application/json",
        response_body={"message": f"Invalid API key {KEY}"},
        json_ok=True,
        response_headers={"x-echo": KEY},
    )
    Recorder(tmp_path, source="test", secrets=(KEY,))(echoed)
    (written,) = tmp_path.glob("*.json")
    assert KEY.encode() not in written.read_bytes()


@pytest.mark.slow
def test_no_key_survives_a_recorded_contract_run(tmp_path: Path) -> None:
    record = tmp_path / "recorded"
    run = run_contract(tmp_path, "--api-key", KEY, "--examples", "3", "--record", str(record))
    assert run.code == 0, run.output
    files = list(record.glob("*.json"))
    assert len(files) > 50  # every check's requests were recorded
    for path in files:
        data = path.read_bytes()
        assert KEY.encode() not in data, path
        assert KEY.encode("utf-16-le") not in data
    assert KEY not in run.output


@pytest.mark.parametrize(
    "folder", sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.exists() else []
)
def test_the_recorded_corpus_replays_against_the_current_fake(folder: str) -> None:
    recordings = list(load_recordings(CORPUS / folder))
    assert len(recordings) > 50
    with open_target(
        "fake", auth_header=SPEC.auth_header, create_paths=[op.path for op in SPEC.creates]
    ) as fake:
        assert replay(recordings, fake) == []


def test_replay_reports_a_changed_status_and_shape(tmp_path: Path) -> None:
    source = sorted((CORPUS / "fake").glob("*-post-401.json"))[0]
    changed = source.read_text().replace('"status": 401', '"status": 403')
    (tmp_path / "00001-changed.json").write_text(changed)
    reshaped = source.read_text().replace('"message": "', '"error": "')
    (tmp_path / "00002-reshaped.json").write_text(reshaped)
    with open_target(
        "fake", auth_header=SPEC.auth_header, create_paths=[op.path for op in SPEC.creates]
    ) as fake:
        problems = replay(load_recordings(tmp_path), fake)
    assert problems == [
        "00001-changed.json: status 401, recorded 403",
        "00002-reshaped.json: body shape {'message': 'string'}, recorded {'error': 'string'}",
    ]


def test_the_fake_corpus_says_it_was_not_recorded_from_the_real_api() -> None:
    for recording in load_recordings(CORPUS / "fake"):
        assert recording.source == "fake (in-process)"
        assert "NOT from the real Freepik API" in recording.path.read_text()

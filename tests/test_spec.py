"""Loading the vendored spec, and behaviour that follows the spec with no code change."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import AUTH, CREATE, TASKS, VIDEO, fake

from mockserver.spec import (
    SpecError,
    json_twin,
    load_spec,
    load_yaml,
    read_document,
    to_json_schema,
    vendored_spec_dir,
    write_json_twin,
)

# Copies of the docs pages (fixtures/drift/upstream/PROVENANCE.md); the std reference
# page is byte-identical to the project's seed.
DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "drift" / "upstream" / "docs"
PAGE = "freepik-docs-Knguyen-data-5e0ab63-{}.md"


def test_vendored_spec_has_the_kling_3_omni_family() -> None:
    spec = load_spec()
    by_route = {(op.method, op.path): op for op in spec}
    assert set(by_route) == {
        ("post", "/v1/ai/reference-to-video/kling-v3-omni-std"),
        ("post", "/v1/ai/reference-to-video/kling-v3-omni-pro"),
        ("get", "/v1/ai/reference-to-video/kling-v3-omni"),
        ("get", "/v1/ai/reference-to-video/kling-v3-omni/{task-id}"),
        ("post", "/v1/ai/video/kling-v3-omni-std"),
        ("post", "/v1/ai/video/kling-v3-omni-pro"),
        ("get", "/v1/ai/video/kling-v3-omni"),
        ("get", "/v1/ai/video/kling-v3-omni/{task-id}"),
    }
    assert {op.auth_header for op in spec} == {"x-freepik-api-key"}
    assert set(
        by_route[("get", "/v1/ai/reference-to-video/kling-v3-omni/{task-id}")].responses
    ) >= {
        "200",
        "401",
        "404",
    }


@pytest.mark.parametrize(
    ("vendored", "page"),
    [
        ("kling-v3-omni-std.yaml", "generate-std-video-reference"),
        ("kling-v3-omni-pro.yaml", "generate-pro-video-reference"),
        ("kling-v3-omni-video-std.yaml", "generate-std-video"),
        ("kling-v3-omni-video-pro.yaml", "generate-pro-video"),
    ],
)
def test_vendored_post_documents_are_their_pages_blocks_byte_for_byte(
    vendored: str, page: str
) -> None:
    text = (DOCS / PAGE.format(page)).read_text(encoding="utf-8")
    block = text.split("````yaml post ", 1)[1].split("\n", 1)[1].split("````", 1)[0]
    ours = (vendored_spec_dir() / vendored).read_text(encoding="utf-8")
    assert _without_our_rules(ours) == block


def _without_our_rules(text: str) -> str:
    """The document without the lines of our own ``x-freepik-mock-rules`` block (and the
    comment that introduces it): what upstream wrote, byte for byte."""
    kept: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("x-freepik-mock-rules:"):
            inside, indent = True, len(line) - len(line.lstrip())
            while kept and kept[-1].strip().startswith("#"):
                kept.pop()
            continue
        if inside and len(line) - len(line.lstrip()) > indent:
            continue
        inside = False
        kept.append(line)
    return "".join(kept)


def test_yaml_is_read_with_yaml_1_2_scalars() -> None:
    # PyYAML's YAML 1.1 would read 16:9 as 969 and "no" as False.
    assert load_yaml("enum: [16:9, 9:16, 1:1]\nflag: no\nwhen: 2024-01-01\nn: 12\nf: 0.5") == {
        "enum": ["16:9", "9:16", "1:1"],
        "flag": "no",
        "when": "2024-01-01",
        "n": 12,
        "f": 0.5,
    }


def test_nullable_becomes_a_null_type() -> None:
    schema = to_json_schema(
        {"type": "string", "nullable": True, "enum": ["a"], "example": "a", "x-extra": 1}
    )
    assert schema == {"type": ["string", "null"], "enum": ["a", None]}


def test_not_a_spec_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.yaml").write_text("just: some yaml\n")
    with pytest.raises(SpecError, match="not an OpenAPI 3 document"):
        load_spec(tmp_path)


def _spec_copy(tmp_path: Path) -> Path:
    target = tmp_path / "openapi"
    shutil.copytree(vendored_spec_dir(), target, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return target


@pytest.mark.anyio
async def test_a_changed_spec_changes_validation_with_no_code_change(tmp_path: Path) -> None:
    spec_dir = _spec_copy(tmp_path)
    std = spec_dir / "kling-v3-omni-std.yaml"
    text = std.read_text()
    text = text.replace("maximum: 2\n", "maximum: 1\n", 1)
    text = text.replace(
        "maxLength: 2500\n          type: string\n        image_url",
        "maxLength: 10\n          type: string\n        image_url",
        1,
    )
    text = text.replace("        - '15'\n", "", 1)
    std.write_text(text)
    body = {"video_url": VIDEO, "cfg_scale": 1.5, "prompt": "x" * 11, "duration": "15"}
    async with fake() as original:
        assert (await original.post(CREATE, json=body, headers=AUTH)).status_code == 200
    async with fake(spec_dir=spec_dir) as changed:
        response = await changed.post(CREATE, json=body, headers=AUTH)
    assert response.status_code == 400
    assert sorted(p["field"] for p in response.json()["invalid_params"]) == [
        "body.cfg_scale",
        "body.duration",
        "body.prompt",
    ]


@pytest.mark.anyio
async def test_a_changed_spec_changes_routes_and_auth_header(tmp_path: Path) -> None:
    spec_dir = _spec_copy(tmp_path)
    for doc in spec_dir.glob("*.yaml"):
        doc.write_text(doc.read_text().replace("x-freepik-api-key", "x-magnific-api-key"))
    async with fake(spec_dir=spec_dir) as client:
        old = await client.get(TASKS, headers=AUTH)
        new = await client.get(TASKS, headers={"x-magnific-api-key": "k"})
    assert old.status_code == 401
    assert new.status_code == 200


def test_a_json_document_is_read_as_json_and_a_broken_one_is_a_spec_error() -> None:
    from mockserver.spec import read_document

    assert read_document(b'{"ratios": ["16:9"], "n": 1.5}', ".json") == {
        "ratios": ["16:9"],
        "n": 1.5,
    }
    assert read_document(b"plain: 16:9\n") == {"plain": "16:9"}  # YAML 1.2: a string
    with pytest.raises(SpecError, match="not valid JSON"):
        read_document(b'{"a": ', ".json")


# JSON twins: what start-up reads instead of the YAML


def _twin(source: Path) -> dict[str, Any]:
    twin: dict[str, Any] = read_document(json_twin(source).read_bytes(), ".json")
    return twin


def test_every_vendored_document_has_a_json_twin_that_says_the_same() -> None:
    for source in sorted(vendored_spec_dir().glob("*.yaml")):
        twin = json_twin(source)
        assert twin.is_file(), f"{twin.name} missing: write_json_twin({source.name})"
        assert _twin(source)["document"] == load_yaml(source.read_bytes()), (
            f"{twin.name} is stale: rewrite it with mockserver.spec.write_json_twin"
        )
        assert _twin(source)["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()


def _auth_headers(spec_dir: Path) -> set[str | None]:
    return {operation.auth_header for operation in load_spec(spec_dir)}


def _say_another_header(source: Path) -> None:
    twin = json_twin(source)
    twin.write_text(twin.read_text().replace("x-freepik-api-key", "x-twin-api-key"))


def test_a_twin_made_from_its_yaml_is_read_and_one_made_from_other_bytes_is_not(
    tmp_path: Path,
) -> None:
    spec_dir = _spec_copy(tmp_path)
    # The twins say another header than the YAML: whichever is read shows.
    for source in spec_dir.glob("*.yaml"):
        _say_another_header(source)
    assert _auth_headers(spec_dir) == {"x-twin-api-key"}
    # Not another document: the twins' operations are not defined twice.
    assert len(load_spec(spec_dir).operations) == len(load_spec().operations)

    # The YAML edited after its twin was made (however new the twin's file is): the
    # YAML is read.
    for source in spec_dir.glob("*.yaml"):
        source.write_bytes(source.read_bytes() + b"# edited\n")
        os.utime(json_twin(source))  # the twin touched later still says the old bytes
    assert _auth_headers(spec_dir) == {"x-freepik-api-key"}


def test_a_twin_that_is_not_one_is_passed_over_for_the_yaml(tmp_path: Path) -> None:
    spec_dir = _spec_copy(tmp_path)
    sources = sorted(spec_dir.glob("*.yaml"))
    json_twin(sources[0]).write_text("{ broken")
    json_twin(sources[1]).write_text('{"openapi": "3.0.3", "paths": {}}')  # no digest
    assert len(load_spec(spec_dir).operations) == len(load_spec().operations)


def test_a_yaml_without_a_twin_is_read_itself(tmp_path: Path) -> None:
    spec_dir = _spec_copy(tmp_path)
    for source in spec_dir.glob("*.yaml"):
        json_twin(source).unlink()
    assert len(load_spec(spec_dir).operations) == len(load_spec().operations)


def test_a_document_json_cannot_say_gets_no_twin(tmp_path: Path) -> None:
    source = tmp_path / "numbered.yaml"
    source.write_text("openapi: 3.0.3\npaths: {}\nx-by-status:\n  200: ok\n")
    json_twin(source).write_text("{}")  # a stale twin is not left behind
    assert write_json_twin(source) is False
    assert not json_twin(source).exists()
    source.write_text("openapi: 3.0.3\npaths: {}\nratio: 16:9\n")
    assert write_json_twin(source) is True
    assert _twin(source)["document"]["ratio"] == "16:9"


def test_reading_the_twins_does_not_import_yaml(tmp_path: Path) -> None:
    spec_dir = _spec_copy(tmp_path)
    program = (
        "import sys\nfrom mockserver import MockConfig, create_app\n"
        f"create_app(MockConfig(spec_dir={str(spec_dir)!r}))\n"
        "print('yaml' in sys.modules)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False"

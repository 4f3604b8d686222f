"""Loading the vendored spec, and behaviour that follows the spec with no code change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import AUTH, CREATE, TASKS, VIDEO, fake

from mockserver.spec import SpecError, load_spec, load_yaml, to_json_schema, vendored_spec_dir

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

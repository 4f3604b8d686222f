"""Loading the vendored spec, and behaviour that follows the spec with no code change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import AUTH, CREATE, TASKS, VIDEO, fake

from mockserver.spec import SpecError, load_spec, load_yaml, to_json_schema, vendored_spec_dir

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seeds" / "000_33a1d7192be645c4.txt"


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


@pytest.mark.skipif(not SEED.exists(), reason="shared/seeds is not beside this checkout")
def test_vendored_post_document_is_the_seed_block_byte_for_byte() -> None:
    seed = SEED.read_text(encoding="utf-8")
    block = seed.split("````yaml post /v1/ai/reference-to-video/kling-v3-omni-std\n", 1)[1]
    block = block.split("````", 1)[0]
    vendored = (vendored_spec_dir() / "kling-v3-omni-std.yaml").read_text(encoding="utf-8")
    assert vendored == block


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

"""Task families come from the spec's paths: a create belongs to the collection of its
folder that its path extends; reads and lists serve their collection."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.families import belongs, collection_of, task_families
from mockserver.kinds import plan
from mockserver.spec import Operation, Parameter, load_spec

ID = Parameter("task-id", "path", True, {"type": "string"})


def _op(method: str, path: str, *params: Parameter) -> Operation:
    return Operation(method, path, f"{method} {path}", params, False, (), None, {}, None, Path())


def test_the_vendored_family_tiers_share_their_collection() -> None:
    found = plan(load_spec(None)).families
    reference, video = "/v1/ai/reference-to-video/kling-v3-omni", "/v1/ai/video/kling-v3-omni"
    assert found.created == {
        "postAiReferenceToVideoKlingV3OmniStd": reference,
        "postAiReferenceToVideoKlingV3OmniPro": reference,
        "postAiVideoKlingV3OmniStd": video,
        "postAiVideoKlingV3OmniPro": video,
    }
    assert found.served == {
        "getAiReferenceToVideoKlingV3OmniTasks": {reference},
        "getAiReferenceToVideoKlingV3OmniTask": {reference},
        "getAiVideoKlingV3OmniTasks": {video},
        "getAiVideoKlingV3OmniTask": {video},
    }


@pytest.mark.parametrize(
    ("create", "collections", "expected"),
    [
        # Same path for create and list (Mystic's shape).
        ("/v1/ai/mystic", ["/v1/ai/mystic"], "/v1/ai/mystic"),
        # The longest collection wins, at a word boundary only.
        (
            "/v1/ai/image-to-video/kling-v2-1-pro",
            ["/v1/ai/image-to-video/kling-v2", "/v1/ai/image-to-video/kling-v2-1"],
            "/v1/ai/image-to-video/kling-v2-1",
        ),
        ("/v1/ai/video/klingx", ["/v1/ai/video/kling"], "/v1/ai/video/klingx"),
        # Another folder is another family, prefix or not.
        ("/v1/ai/video/kling-std", ["/v1/ai/video/kling-std/tasks"], "/v1/ai/video/kling-std"),
        ("/v1/ai/other/kling-std", ["/v1/ai/kling"], "/v1/ai/other/kling-std"),
    ],
)
def test_a_create_belongs_to_the_collection_its_path_extends(
    create: str, collections: list[str], expected: str
) -> None:
    lists = [_op("get", c) for c in collections]
    reads = [_op("get", c + "/{task-id}", ID) for c in collections]
    found = task_families([_op("post", create)], reads, lists)
    assert found.of(f"post {create}") == expected


def test_only_reads_and_lists_serve_a_collection() -> None:
    assert collection_of(_op("get", "/v1/a/{task-id}", ID)) == "/v1/a"
    assert collection_of(_op("get", "/v1/a")) == "/v1/a"
    assert collection_of(_op("post", "/v1/a")) is None
    two = Parameter("n", "path", True, {"type": "string"})
    assert collection_of(_op("get", "/v1/{n}/{task-id}", two, ID)) is None


def _tiers(*paths: tuple[str, str]) -> list[Operation]:
    return [_op(m, p, ID) if p.endswith("}") else _op(m, p) for m, p in paths]


def test_a_read_shared_by_tiers_serves_each_tier_and_each_tier_lists_its_own() -> None:
    base = "/v1/ai/image-to-video/kling-elements"
    ops = _tiers(
        ("post", base + "-pro"),
        ("post", base + "-std"),
        ("get", base + "-pro"),
        ("get", base + "-std"),
        ("get", base + "/{task-id}"),
    )
    found = task_families(ops[:2], ops[4:], ops[2:4])
    assert found.of(f"post {base}-pro") == base + "-pro"
    assert found.served_by(f"get {base}/{{task-id}}") == {base + "-pro", base + "-std"}
    assert found.served_by(f"get {base}-pro") == {base + "-pro"}


def test_a_list_of_all_tiers_beside_each_tiers_list() -> None:
    base = "/v1/ai/video/seedance-2-fast"
    ops = _tiers(
        ("post", base + "-480p"),
        ("post", base + "-1080p"),
        ("get", base + "-480p"),
        ("get", base + "-1080p"),
        ("get", base),
        ("get", base + "/{task-id}"),
    )
    found = task_families(ops[:2], ops[5:], ops[2:5])
    assert found.served_by(f"get {base}") == {base + "-480p", base + "-1080p"}
    assert found.served_by(f"get {base}-480p") == {base + "-480p"}
    assert found.served_by(f"get {base}/{{task-id}}") == {base + "-480p", base + "-1080p"}


def test_a_neighbour_family_with_a_read_of_its_own_is_not_listed() -> None:
    ops = _tiers(
        ("post", "/v1/ai/video/kling-v3-omni-pro"),
        ("post", "/v1/ai/video/kling-v3-pro"),
        ("get", "/v1/ai/video/kling-v3-omni"),
        ("get", "/v1/ai/video/kling-v3"),
        ("get", "/v1/ai/video/kling-v3-omni/{task-id}"),
        ("get", "/v1/ai/video/kling-v3/{task-id}"),
    )
    found = task_families(ops[:2], ops[4:], ops[2:4])
    assert found.served_by("get /v1/ai/video/kling-v3") == {"/v1/ai/video/kling-v3"}
    assert found.served_by("get /v1/ai/video/kling-v3-omni/{task-id}") == {
        "/v1/ai/video/kling-v3-omni"
    }


def test_a_create_in_a_collections_folder_belongs_to_it() -> None:
    ops = _tiers(
        ("post", "/v1/ai/skin-enhancer/creative"),
        ("get", "/v1/ai/skin-enhancer"),
        ("get", "/v1/ai/skin-enhancer/{task-id}"),
    )
    found = task_families(ops[:1], ops[2:], ops[1:2])
    assert found.of("post /v1/ai/skin-enhancer/creative") == "/v1/ai/skin-enhancer"
    assert belongs("/v1/ai/skin-enhancer/creative", "/v1/ai/skin-enhancer")
    assert not belongs("/v1/ai/skin-enhancer/creative/more", "/v1/ai/skin-enhancer")

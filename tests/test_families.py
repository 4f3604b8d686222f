"""Task families come from the spec's paths: a create belongs to the collection of its
folder that its path extends; reads and lists serve their collection."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.families import collection_of, families
from mockserver.spec import Operation, Parameter, load_spec

ID = Parameter("task-id", "path", True, {"type": "string"})


def _op(method: str, path: str, *params: Parameter) -> Operation:
    return Operation(method, path, f"{method} {path}", params, False, (), None, {}, None, Path())


def test_the_vendored_family_tiers_share_their_collection() -> None:
    found = families(load_spec(None))
    assert found == {
        "postAiReferenceToVideoKlingV3OmniStd": "/v1/ai/reference-to-video/kling-v3-omni",
        "postAiReferenceToVideoKlingV3OmniPro": "/v1/ai/reference-to-video/kling-v3-omni",
        "getAiReferenceToVideoKlingV3OmniTasks": "/v1/ai/reference-to-video/kling-v3-omni",
        "getAiReferenceToVideoKlingV3OmniTask": "/v1/ai/reference-to-video/kling-v3-omni",
        "postAiVideoKlingV3OmniStd": "/v1/ai/video/kling-v3-omni",
        "postAiVideoKlingV3OmniPro": "/v1/ai/video/kling-v3-omni",
        "getAiVideoKlingV3OmniTasks": "/v1/ai/video/kling-v3-omni",
        "getAiVideoKlingV3OmniTask": "/v1/ai/video/kling-v3-omni",
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
    operations = [_op("post", create)]
    operations += [_op("get", c) for c in collections]
    operations += [_op("get", c + "/{task-id}", ID) for c in collections]
    assert families(operations)[f"post {create}"] == expected


def test_only_reads_and_lists_serve_a_collection() -> None:
    assert collection_of(_op("get", "/v1/a/{task-id}", ID)) == "/v1/a"
    assert collection_of(_op("get", "/v1/a")) == "/v1/a"
    assert collection_of(_op("post", "/v1/a")) is None
    two = Parameter("n", "path", True, {"type": "string"})
    assert collection_of(_op("get", "/v1/{n}/{task-id}", two, ID)) is None

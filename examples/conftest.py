"""Repo-only, temporary: skip the example tests that download a result video while the
sample media (fixtures/media/result_*.mp4) are missing from this checkout. Delete this
file once they are in."""

from importlib.resources import files

import pytest

_MEDIA = files("mockserver.fixtures") / "media" / "result_16x9.mp4"
_NEEDS_MEDIA = frozenset({"test_generates_a_video_end_to_end"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _MEDIA.is_file():
        return
    for item in items:
        if item.name in _NEEDS_MEDIA and "examples" in item.path.parts:
            item.add_marker(pytest.mark.skip(reason=f"sample media missing: {_MEDIA}"))

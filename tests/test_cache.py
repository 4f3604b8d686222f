"""The start-up cache: a hit skips the work, a changed input misses, a broken cache is ignored."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mockserver import spec as spec_module
from mockserver.cache import CACHE_DIR_ENV, cache_dir, cached
from mockserver.spec import load_spec, vendored_spec_dir


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_DIR_ENV, str(folder))
    return folder


class Counter:
    def __init__(self, value: object) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value


def test_a_second_call_is_a_hit(cache: Path) -> None:
    compute = Counter({"paths": {"/a": [1, 2.5, None, True]}, 200: "int keys survive"})
    first = cached("t", [b"input"], compute)
    second = cached("t", [b"input"], compute)
    assert compute.calls == 1
    assert first == second == compute.value
    assert len(list(cache.glob("t-*.marshal"))) == 1


def test_other_input_is_a_miss(cache: Path) -> None:
    compute = Counter("x")
    cached("t", [b"one"], compute)
    cached("t", [b"two"], compute)
    # length-prefixed parts: ("ab", "c") is not ("a", "bc")
    cached("t", [b"ab", b"c"], compute)
    cached("t", [b"a", b"bc"], compute)
    assert compute.calls == 4


def test_a_corrupt_entry_is_recomputed_and_replaced(cache: Path) -> None:
    compute = Counter(["fresh"])
    cached("t", [b"input"], compute)
    (entry,) = cache.glob("t-*.marshal")
    data = entry.read_bytes()
    for broken in (b"", data[:-3], data[:-1] + bytes([data[-1] ^ 1]), b"garbage" * 10):
        entry.write_bytes(broken)
        assert cached("t", [b"input"], compute) == ["fresh"]
        assert entry.read_bytes() == data
    assert compute.calls == 5


def test_an_unwritable_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocker / "cache"))
    compute = Counter("value")
    assert cached("t", [b"input"], compute) == "value"
    assert cached("t", [b"input"], compute) == "value"
    assert compute.calls == 2


def test_a_value_marshal_cannot_hold_is_not_cached(cache: Path) -> None:
    compute = Counter(Path("not marshallable"))
    assert cached("t", [b"input"], compute) == Path("not marshallable")
    assert not list(cache.glob("*"))


@pytest.mark.parametrize("value", ["", "off", "OFF"])
def test_the_cache_can_be_turned_off(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, value)
    monkeypatch.chdir(tmp_path)
    assert cache_dir() is None
    compute = Counter("value")
    cached("t", [b"input"], compute)
    cached("t", [b"input"], compute)
    assert compute.calls == 2
    assert not list(tmp_path.iterdir())


def test_the_default_folder_follows_xdg() -> None:
    assert cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/freepik-mock")
    assert cache_dir({}) == Path.home() / ".cache" / "freepik-mock"
    assert cache_dir({CACHE_DIR_ENV: "/y", "XDG_CACHE_HOME": "/x"}) == Path("/y")


def _count_yaml_reads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    reads: list[bytes] = []
    real = spec_module.load_yaml

    def counting(text: str | bytes) -> object:
        reads.append(text if isinstance(text, bytes) else text.encode())
        return real(text)

    monkeypatch.setattr(spec_module, "load_yaml", counting)
    return reads


def test_the_spec_is_read_from_yaml_once(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _count_yaml_reads(monkeypatch)
    first = load_spec()
    documents = len(first.documents)
    assert len(reads) == documents
    second = load_spec()
    assert len(reads) == documents  # every document came from the cache
    assert second == first


def test_a_changed_spec_is_never_served_from_the_cache(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_dir = tmp_path / "openapi"
    shutil.copytree(vendored_spec_dir(), spec_dir, ignore=shutil.ignore_patterns("*.py", "*.md"))
    before = load_spec(spec_dir)
    std = spec_dir / "kling-v3-omni-std.yaml"
    text = std.read_text()
    assert "maxLength: 2500\n" in text
    std.write_text(text.replace("maxLength: 2500\n", "maxLength: 7\n", 1))
    reads = _count_yaml_reads(monkeypatch)
    after = load_spec(spec_dir)
    assert reads == [std.read_bytes()]  # only the changed document is parsed again
    assert after != before
    assert "maxLength: 7" not in text and "'maxLength': 7" in repr(after.documents)

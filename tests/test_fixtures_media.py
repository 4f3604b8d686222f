"""Check the committed sample media in ``fixtures/media`` against what their names promise.

The expectations below are written out independently of ``fixtures/make_media.py`` on purpose,
so a mistake in the generator's spec table cannot hide itself. Container-level checks (box
layout, magic bytes, MANIFEST hashes, sizes) need only the standard library and always run;
the probing checks use PyAV / Pillow and are skipped when those are not installed.
"""

from __future__ import annotations

import hashlib
import json
import struct
import wave
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import pytest

MEDIA = Path(__file__).resolve().parents[1] / "fixtures" / "media"
MANIFEST = MEDIA / "MANIFEST.json"

DURATION_TOLERANCE_S = 0.1
MAX_FILE_BYTES = 150 * 1024
MAX_TOTAL_BYTES = 5 * 1024 * 1024


class Video(NamedTuple):
    seconds: int
    width: int
    height: int
    fps: int
    container: str  # "mp4", "mov" or "avi"


class Picture(NamedTuple):
    width: int
    height: int
    format: str  # Pillow format name


VIDEOS: dict[str, Video] = {
    "result_16x9.mp4": Video(2, 1280, 720, 24, "mp4"),
    "result_9x16.mp4": Video(2, 720, 1280, 24, "mp4"),
    "result_1x1.mp4": Video(2, 720, 720, 24, "mp4"),
    "ref_valid.mp4": Video(5, 1280, 720, 30, "mp4"),
    "ref_valid.mov": Video(4, 720, 1280, 24, "mov"),
    "ref_too_short.mp4": Video(2, 1280, 720, 30, "mp4"),
    "ref_too_long.mp4": Video(11, 1280, 720, 24, "mp4"),
    "ref_low_res.mp4": Video(5, 640, 360, 30, "mp4"),
    "ref_low_fps.mp4": Video(5, 1280, 720, 20, "mp4"),
    "ref_wrong_container.avi": Video(5, 1280, 720, 30, "avi"),
}

IMAGES: dict[str, Picture] = {
    "result_image.png": Picture(512, 512, "PNG"),
    "image_valid.jpg": Picture(512, 512, "JPEG"),
    "image_valid.png": Picture(640, 480, "PNG"),
    "image_too_small.png": Picture(299, 299, "PNG"),
    "image_wrong_format.gif": Picture(512, 512, "GIF"),
}

# name -> (seconds, sample rate): mono 16-bit PCM WAV.
SOUNDS: dict[str, tuple[int, int]] = {"result_audio.wav": (1, 8000)}

ISO_BMFF = sorted(name for name, v in VIDEOS.items() if v.container in ("mp4", "mov"))
MAJOR_BRAND = {"mp4": b"isom", "mov": b"qt  "}
IMAGE_MAGIC = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "GIF": (b"GIF87a", b"GIF89a"),
}


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return data


def _manifest_entries() -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in _manifest()["files"]}


def _top_level_boxes(data: bytes) -> list[str]:
    """Names of the top-level ISO-BMFF boxes, in file order."""
    boxes: list[str] = []
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
        elif size == 0:
            size = len(data) - pos
        assert size >= 8, f"corrupt box at offset {pos}"
        boxes.append(kind.decode("latin-1"))
        pos += size
    assert pos == len(data), "boxes do not add up to the file size"
    return boxes


# ------------------------------------------------------------------------------------------
# Standard-library checks: always run.
# ------------------------------------------------------------------------------------------


def test_media_dir_holds_exactly_the_expected_files() -> None:
    present = {p.name for p in MEDIA.iterdir()}
    assert present == set(VIDEOS) | set(IMAGES) | set(SOUNDS) | {"MANIFEST.json"}


@pytest.mark.parametrize("name", ISO_BMFF)
def test_mp4_and_mov_start_with_ftyp_and_right_brand(name: str) -> None:
    head = (MEDIA / name).read_bytes()[:12]
    assert head[4:8] == b"ftyp"
    assert head[8:12] == MAJOR_BRAND[VIDEOS[name].container]


@pytest.mark.parametrize("name", ISO_BMFF)
def test_mp4_and_mov_are_faststart(name: str) -> None:
    boxes = _top_level_boxes((MEDIA / name).read_bytes())
    assert boxes[0] == "ftyp"
    assert "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes


def test_avi_is_a_riff_avi_file() -> None:
    head = (MEDIA / "ref_wrong_container.avi").read_bytes()[:12]
    assert head[:4] == b"RIFF" and head[8:12] == b"AVI "


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_image_magic_bytes(name: str) -> None:
    head = (MEDIA / name).read_bytes()[:8]
    assert head.startswith(IMAGE_MAGIC[IMAGES[name].format])


def test_manifest_lists_every_file_once() -> None:
    names = [entry["name"] for entry in _manifest()["files"]]
    assert sorted(names) == sorted(set(VIDEOS) | set(IMAGES) | set(SOUNDS))
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", sorted(set(VIDEOS) | set(IMAGES) | set(SOUNDS)))
def test_manifest_sha256_and_size_match_file(name: str) -> None:
    entry = _manifest_entries()[name]
    data = (MEDIA / name).read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["bytes"] == len(data)
    kind = "video" if name in VIDEOS else "audio" if name in SOUNDS else "image"
    assert entry["kind"] == kind
    assert entry["purpose"].strip()


@pytest.mark.parametrize("name", sorted(SOUNDS))
def test_sound_is_a_short_mono_wav(name: str) -> None:
    seconds, rate = SOUNDS[name]
    with wave.open(str(MEDIA / name), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, rate)
        assert abs(wav.getnframes() / rate - seconds) <= DURATION_TOLERANCE_S
        frames = wav.readframes(wav.getnframes())
    assert max(frames) > 0  # a tone, not silence
    assert _manifest_entries()[name]["rate"] == rate


def test_sizes_stay_small() -> None:
    sizes = {p.name: p.stat().st_size for p in MEDIA.iterdir()}
    too_big = {name: size for name, size in sizes.items() if size > MAX_FILE_BYTES}
    assert not too_big, f"files over {MAX_FILE_BYTES} bytes: {too_big}"
    assert sum(sizes.values()) < MAX_TOTAL_BYTES


# ------------------------------------------------------------------------------------------
# Probing checks: need PyAV / Pillow.
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VIDEOS))
def test_video_properties(name: str) -> None:
    av = pytest.importorskip("av")
    want = VIDEOS[name]
    with av.open(str(MEDIA / name)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        assert (ctx.width, ctx.height) == (want.width, want.height)
        assert stream.average_rate == Fraction(want.fps)
        assert ctx.name == "h264"
        assert ctx.pix_fmt == "yuv420p"

        assert stream.duration is not None and stream.time_base is not None
        stream_seconds = float(stream.duration * stream.time_base)
        assert abs(stream_seconds - want.seconds) <= DURATION_TOLERANCE_S
        assert container.duration is not None
        assert abs(container.duration / 1_000_000 - want.seconds) <= DURATION_TOLERANCE_S

        if want.container == "avi":
            assert container.format.name == "avi"
        else:
            assert "mp4" in container.format.name.split(",")  # the mov/mp4 demuxer
            brand = container.metadata.get("major_brand", "").encode("latin-1")
            assert brand == MAJOR_BRAND[want.container]

        packets = [p for p in container.demux(stream) if p.size > 0]
        assert len(packets) == want.seconds * want.fps

    with av.open(str(MEDIA / name)) as container:  # and the picture really decodes
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (want.width, want.height)


@pytest.mark.parametrize("name", sorted(VIDEOS))
def test_manifest_video_properties_match_expectations(name: str) -> None:
    entry = _manifest_entries()[name]
    want = VIDEOS[name]
    assert (entry["width"], entry["height"]) == (want.width, want.height)
    assert entry["fps"] == pytest.approx(want.fps)
    assert abs(entry["duration_s"] - want.seconds) <= DURATION_TOLERANCE_S
    assert entry["container"] == want.container
    assert entry["codec"] == "h264"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_image_properties(name: str) -> None:
    pil_image = pytest.importorskip("PIL.Image")
    want = IMAGES[name]
    with pil_image.open(MEDIA / name) as img:
        assert img.size == (want.width, want.height)
        assert img.format == want.format
        img.load()  # decodes the whole image
    entry = _manifest_entries()[name]
    assert (entry["width"], entry["height"], entry["format"]) == want

"""Checks of the reference media a task points at, as the real API makes them.

The real API accepts any URI with 200 and fails the task soon after when the video or
image breaks its limits. Modes: ``off`` accepts everything; ``url`` judges only what the
URL shows (scheme, extension; a URL with no extension passes, since the API cannot know
more from it either); ``probe`` downloads the media from allowed sources (loopback hosts,
the fake's own ``/_mock/fixtures/``, ``file://`` under ``media_root``) with a size cap
and measures it with PyAV (video) or Pillow (image), the optional ``probe`` extra.

Which request field holds which kind of media is read from the spec's own prose (its
"Video constraints" / "Image requirements" paragraphs), so no field is named here.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from urllib.parse import unquote, urlsplit

from .config import MediaCheckMode
from .constants import FIXTURES_PATH
from .hosts import is_loopback_host

if TYPE_CHECKING:
    from fractions import Fraction  # PyAV's frame rates

__all__ = [
    "IMAGE",
    "LIMITS",
    "VIDEO",
    "MediaChecker",
    "MediaKind",
    "MediaLimits",
    "media_fields",
]

MediaKind = Literal["video", "image"]
VIDEO: MediaKind = "video"
IMAGE: MediaKind = "image"

MB = 1024 * 1024


class MediaLimits(NamedTuple):
    """What one kind of reference media must satisfy; None means no such rule."""

    extensions: tuple[str, ...]
    # Container names (PyAV's format names) or image formats (Pillow's) accepted.
    formats: tuple[str, ...]
    max_bytes: int
    min_seconds: float | None = None
    max_seconds: float | None = None
    # The longer side must reach min_long_side; no side may pass max_side.
    min_long_side: int | None = None
    max_side: int | None = None
    # Both sides must reach min_side.
    min_side: int | None = None
    min_fps: float | None = None
    max_fps: float | None = None


# From the spec's prose (the descriptions of the video and image fields): the schema
# itself states none of these limits, so they live here, in one table.
LIMITS: Mapping[MediaKind, MediaLimits] = {
    VIDEO: MediaLimits(
        extensions=(".mp4", ".mov"),
        formats=("mp4", "mov"),
        max_bytes=200 * MB,
        min_seconds=3.0,
        max_seconds=10.0,
        min_long_side=720,
        max_side=2160,
        min_fps=24.0,
        max_fps=60.0,
    ),
    IMAGE: MediaLimits(
        extensions=(".jpg", ".jpeg", ".png"),
        formats=("JPEG", "PNG"),
        max_bytes=10 * MB,
        min_side=300,
    ),
}

# Phrases of the spec's field descriptions that say which kind of media a field holds.
_KIND_MARKERS: tuple[tuple[str, MediaKind], ...] = (
    ("video constraints", VIDEO),
    ("image requirements", IMAGE),
)


def media_fields(request_schema: Mapping[str, Any] | None) -> dict[str, MediaKind]:
    """The top-level string fields whose description states media limits, by kind."""
    fields: dict[str, MediaKind] = {}
    properties = (request_schema or {}).get("properties") or {}
    for name, sub in properties.items():
        description = str(sub.get("description", "")).lower() if isinstance(sub, Mapping) else ""
        for marker, kind in _KIND_MARKERS:
            if marker in description:
                fields[name] = kind
                break
    return fields


def _suffix(path: str) -> str:
    """A URL path's file extension, as ``PurePosixPath(path).suffix`` says it (faster)."""
    name = path.rpartition("/")[2]
    if name in ("", "."):  # pathlib skips empty and "." parts
        parts = [part for part in path.split("/") if part not in ("", ".")]
        name = parts[-1] if parts else ""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


class MediaUnavailable(Exception):
    """The media could not be fetched (refused source, network error, too large)."""


class _Measured(NamedTuple):
    format: str
    width: int
    height: int
    seconds: float | None = None
    fps: float | None = None


class MediaChecker:
    def __init__(
        self,
        mode: MediaCheckMode,
        *,
        fixtures_dir: Path,
        media_root: Path | None = None,
        max_download_bytes: int = 200 * MB,
        fetch_timeout: float = 10.0,
    ) -> None:
        if mode not in ("off", "url", "probe"):
            raise ValueError(f"media check mode must be off, url or probe, not {mode!r}")
        if mode == "probe":
            _require_probe_libraries()
        if max_download_bytes <= 0:
            raise ValueError("the media download cap must be > 0 bytes")
        self.mode = mode
        self.fixtures_dir = fixtures_dir
        self.media_root = media_root.resolve() if media_root is not None else None
        self.max_download_bytes = max_download_bytes
        self.fetch_timeout = fetch_timeout
        self._url_verdicts: dict[tuple[MediaKind, str], str | None] = {}

    def __repr__(self) -> str:
        return f"MediaChecker(mode={self.mode!r}, media_root={self.media_root!r})"

    @property
    def probes(self) -> bool:
        """Whether :meth:`check` downloads (and so must run off the event loop)."""
        return self.mode == "probe"

    def check(
        self, fields: Mapping[str, MediaKind], params: Mapping[str, Any], own_base_url: str = ""
    ) -> str | None:
        """The first violation among ``params``' media fields, or None when all pass.

        ``own_base_url`` is the fake's own address: its fixture URLs are read from disk.
        In probe mode this blocks (downloads); call it in a thread.
        """
        if self.mode == "off":
            return None
        for name, kind in fields.items():
            url = params.get(name)
            if not isinstance(url, str) or not url:
                continue
            reason = self._check_url(kind, url)
            if reason is None and self.mode == "probe":
                reason = self._probe(kind, url, own_base_url)
            if reason is not None:
                return f"{name}: {reason}"
        return None

    # -- url mode -----------------------------------------------------------------

    def _check_url(self, kind: MediaKind, url: str) -> str | None:
        # The verdict depends on the URL alone, and clients send the same few often.
        key = (kind, url)
        if key in self._url_verdicts:
            return self._url_verdicts[key]
        if len(self._url_verdicts) >= 4096:
            self._url_verdicts.clear()
        verdict = self._url_verdicts[key] = self._judge_url(kind, url)
        return verdict

    def _judge_url(self, kind: MediaKind, url: str) -> str | None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            if self.media_root is None:
                return "file:// URLs are not allowed (no media root configured)"
        elif scheme not in ("http", "https"):
            return f"unsupported URL scheme {scheme or '(none)'!r}; use http or https"
        suffix = _suffix(unquote(parts.path)).lower()
        allowed = LIMITS[kind].extensions
        if suffix and suffix not in allowed:
            return f"{kind} format {suffix!r} is not supported; use {', '.join(allowed)}"
        return None

    # -- probe mode ---------------------------------------------------------------

    def _probe(self, kind: MediaKind, url: str, own_base_url: str) -> str | None:
        limits = LIMITS[kind]
        try:
            data = self._fetch(url, own_base_url)
        except MediaUnavailable as exc:
            return f"{kind} could not be fetched: {exc}"
        if len(data) > limits.max_bytes:
            return f"{kind} is {len(data)} bytes; the limit is {limits.max_bytes}"
        try:
            measured = _measure_video(data) if kind == VIDEO else _measure_image(data)
        except Exception as exc:  # any decoder error means unreadable media
            return f"{kind} could not be read: {type(exc).__name__}: {exc}"
        return _violation(kind, limits, measured)

    def _fetch(self, url: str, own_base_url: str) -> bytes:
        parts = urlsplit(url)
        if parts.scheme.lower() == "file":
            return self._read_file(self._under_root(Path(unquote(parts.path))))
        own = urlsplit(own_base_url)
        if (
            own_base_url
            and (parts.scheme, parts.netloc) == (own.scheme, own.netloc)
            and parts.path.startswith(FIXTURES_PATH)
        ):
            name = parts.path[len(FIXTURES_PATH) :]
            path = fixture_path(self.fixtures_dir, unquote(name))
            if path is None:
                raise MediaUnavailable(f"no fixture named {name!r} (HTTP 404)")
            return self._read_file(path)
        if not is_loopback_host(parts.hostname or ""):
            raise MediaUnavailable(
                f"host {parts.hostname!r} is not an allowed source (loopback only)"
            )
        return self._download(url)

    def _under_root(self, path: Path) -> Path:
        assert self.media_root is not None  # _check_url refused file:// without a root
        resolved = path.resolve()
        if not resolved.is_relative_to(self.media_root):
            raise MediaUnavailable("file is outside the configured media root")
        return resolved

    def _read_file(self, path: Path) -> bytes:
        try:
            with path.open("rb") as handle:
                data = handle.read(self.max_download_bytes + 1)
        except OSError as exc:
            raise MediaUnavailable(f"{type(exc).__name__}: {exc.strerror}") from None
        return self._capped(data)

    def _download(self, url: str) -> bytes:
        import httpx  # only a probe downloads: `serve` without one does not pay for httpx

        buffer = bytearray()
        try:
            with (
                httpx.Client(timeout=self.fetch_timeout, trust_env=False) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise MediaUnavailable(f"HTTP {response.status_code}")
                for chunk in response.iter_bytes():
                    buffer += chunk
                    self._capped(buffer)
        except httpx.HTTPError as exc:
            raise MediaUnavailable(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
        return bytes(buffer)

    def _capped(self, data: bytes | bytearray) -> bytes:
        if len(data) > self.max_download_bytes:
            raise MediaUnavailable(f"larger than the download cap of {self.max_download_bytes}")
        return bytes(data)


def fixture_path(fixtures_dir: Path, name: str) -> Path | None:
    """The fixture file called ``name``, or None (unknown names, any path in ``name``)."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or name.endswith(".json"):
        return None
    path = fixtures_dir / name
    return path if path.is_file() else None


def _violation(kind: MediaKind, limits: MediaLimits, m: _Measured) -> str | None:
    if not any(f in m.format.lower().split(",") for f in (x.lower() for x in limits.formats)):
        return f"{kind} format {m.format!r} is not supported ({', '.join(limits.formats)})"
    if limits.min_seconds is not None and m.seconds is not None and m.seconds < limits.min_seconds:
        return f"{kind} lasts {m.seconds:g} s; the minimum is {limits.min_seconds:g} s"
    if limits.max_seconds is not None and m.seconds is not None and m.seconds > limits.max_seconds:
        return f"{kind} lasts {m.seconds:g} s; the maximum is {limits.max_seconds:g} s"
    size = f"{m.width}x{m.height}"
    if limits.min_long_side is not None and max(m.width, m.height) < limits.min_long_side:
        return f"{kind} is {size}; one side must be at least {limits.min_long_side} px"
    if limits.max_side is not None and max(m.width, m.height) > limits.max_side:
        return f"{kind} is {size}; no side may exceed {limits.max_side} px"
    if limits.min_side is not None and min(m.width, m.height) < limits.min_side:
        return f"{kind} is {size}; the minimum is {limits.min_side}x{limits.min_side}"
    if limits.min_fps is not None and m.fps is not None and m.fps < limits.min_fps:
        return f"{kind} runs at {m.fps:g} fps; the minimum is {limits.min_fps:g}"
    if limits.max_fps is not None and m.fps is not None and m.fps > limits.max_fps:
        return f"{kind} runs at {m.fps:g} fps; the maximum is {limits.max_fps:g}"
    return None


def _measure_video(data: bytes) -> _Measured:
    import av  # the optional `probe` extra; checked at start-up

    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        if container.duration is not None:
            seconds = container.duration / av.time_base
        elif stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        else:
            seconds = 0.0
        rate: Fraction | None = stream.average_rate or stream.guessed_rate
        return _Measured(
            format=container.format.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            seconds=round(float(seconds), 3),
            fps=round(float(rate), 3) if rate else None,
        )


def _measure_image(data: bytes) -> _Measured:
    from PIL import Image  # the optional `probe` extra; checked at start-up

    with Image.open(io.BytesIO(data)) as image:
        return _Measured(format=image.format or "", width=image.width, height=image.height)


def _require_probe_libraries() -> None:
    try:
        import av  # noqa: F401
        import PIL  # noqa: F401
    except ImportError as exc:
        raise ValueError(
            f"--media-check probe needs PyAV and Pillow ({exc.name} is missing); "
            "install them with: pip install 'av>=12' 'pillow>=10' (the freepik-mock[probe] extra)"
        ) from None

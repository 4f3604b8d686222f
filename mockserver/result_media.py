"""What a completed task's result is, per family: an image, a video or a sound.

The kind is read from the spec: an operation of the family may say it outright with the
``x-freepik-mock-media`` extension (``image``, ``video`` or ``audio``, on the operation
or its path item), else the family's paths say it (``image-to-video`` makes videos,
``text-to-image`` images, ``music-generation`` sound), else their tags, then the creates'
summaries and descriptions; a family none of these names makes images (the spec's
``generated`` items read "URL of the generated image").

Each kind has its file in ``fixtures/media`` (made by ``fixtures/make_media.py``) and its
extension in the result URL: ``/_mock/cdn/<stem>_<task_id>.<ext>``, where the stem is
the family's first word (``kling`` for every Kling family, which keeps the form observed
on the live API, ``kling_<task_id>.mp4``).
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Final, Literal, NamedTuple, get_args

from .constants import RESULT_ROUTE
from .spec import Operation, Spec, SpecError

__all__ = [
    "MEDIA_EXTENSION",
    "RESULT_FILE",
    "VIDEO",
    "ResultKind",
    "ResultMedia",
    "kind_from_words",
    "result_media",
]

ResultKind = Literal["image", "video", "audio"]

# The extension that sets a family's result kind where the spec's words mislead.
MEDIA_EXTENSION: Final = "x-freepik-mock-media"

# Where a result of each kind is served: a file name in the fixtures' media folder, its
# content type and its extension in the URL.
RESULT_FILE: Final[dict[ResultKind, tuple[str, str, str]]] = {
    "video": ("result_16x9.mp4", "video/mp4", "mp4"),
    "image": ("result_image.png", "image/png", "png"),
    "audio": ("result_audio.wav", "audio/wav", "wav"),
}
# Videos come in the task's aspect ratio.
_VIDEO_FILES: Final = {
    "16:9": "result_16x9.mp4",
    "9:16": "result_9x16.mp4",
    "1:1": "result_1x1.mp4",
}

# Words that name a kind, as the spec's paths, tags and summaries use them.
_WORDS: Final[dict[str, ResultKind]] = {
    **dict.fromkeys(("video", "videos", "animation", "lip", "talking", "vfx"), "video"),
    **dict.fromkeys(("image", "images", "icon", "icons", "photo", "picture"), "image"),
    **dict.fromkeys(
        ("audio", "music", "sound", "sounds", "speech", "voice", "voiceover", "song", "tts"),
        "audio",
    ),
}
_WORD: Final = re.compile(r"[a-z0-9]+")
_STEM: Final = re.compile(r"[a-z]+")


class ResultMedia(NamedTuple):
    """A family's result: its kind and the URL stem it is served under."""

    kind: ResultKind
    stem: str

    @property
    def extension(self) -> str:
        return RESULT_FILE[self.kind][2]

    @property
    def content_type(self) -> str:
        return RESULT_FILE[self.kind][1]

    def path(self, task_id: str) -> str:
        """The result's path under the fake's CDN (signed by ``results.py``)."""
        before, after = _route_around_id(self)
        return f"{before}{task_id}{after}"

    def file(self, aspect_ratio: str | None) -> str:
        """The fixture served for a task, by its aspect ratio where it is a video."""
        if self.kind == "video":
            return _VIDEO_FILES.get(aspect_ratio or "", _VIDEO_FILES["16:9"])
        return RESULT_FILE[self.kind][0]


@functools.cache
def _route_around_id(media: ResultMedia) -> tuple[str, str]:
    """``RESULT_ROUTE`` filled in for ``media``, split where the task id goes: a read of
    a completed task builds its path from the two halves (once per read, the hot path)."""
    before, _, after = RESULT_ROUTE.format(
        stem=media.stem, task_id="\0", extension=media.extension
    ).partition("\0")
    return before, after


# The result of a family the fake has not been told of: the Kling video.
VIDEO: Final = ResultMedia("video", "kling")


def kind_from_words(text: str) -> ResultKind | None:
    """The kind ``text`` names: what follows its last "to" first (``image-to-video``),
    then its first word that names one."""
    words = _WORD.findall(text.lower())
    if "to" in words:
        last = len(words) - 1 - words[::-1].index("to")
        words = words[last + 1 :] + words[:last]
    return next((_WORDS[w] for w in words if w in _WORDS), None)


def _declared(spec: Spec, operation: Operation) -> ResultKind | None:
    item = spec.documents[operation.source]["paths"][operation.path]
    value = item[operation.method].get(MEDIA_EXTENSION, item.get(MEDIA_EXTENSION))
    if value is None:
        return None
    if value not in get_args(ResultKind):
        raise SpecError(
            f"{operation.source.name}: {operation.method.upper()} {operation.path}: "
            f"{MEDIA_EXTENSION} must be one of {', '.join(get_args(ResultKind))}, not {value!r}"
        )
    return value  # type: ignore[no-any-return]


def _kind(spec: Spec, family: str, operations: list[Operation]) -> ResultKind:
    for operation in operations:
        declared = _declared(spec, operation)
        if declared is not None:
            return declared
    raws = [spec.documents[op.source]["paths"][op.path][op.method] for op in operations]
    texts: list[Iterable[str]] = [
        [family, *(op.path for op in operations)],
        [" ".join(str(t) for t in raw.get("tags") or ()) for raw in raws],
        [f"{raw.get('summary') or ''} {raw.get('description') or ''}" for raw in raws],
    ]
    for group in texts:
        for text in group:
            found = kind_from_words(text)
            if found is not None:
                return found
    return "image"


def _stem(family: str) -> str:
    found = _STEM.match(posixpath.basename(family))
    return found.group(0) if found else "result"


def result_media(
    spec: Spec, families: Mapping[str, str], served: Mapping[str, Iterable[str]]
) -> dict[str, ResultMedia]:
    """Each family's result media. ``families`` gives each create's family by operation
    id, ``served`` the families each read and list serves."""
    by_id = {op.operation_id: op for op in spec}
    members: dict[str, list[Operation]] = {}
    for op_id, family in families.items():
        members.setdefault(family, []).append(by_id[op_id])
    for op_id, found in served.items():
        for family in found:
            members.setdefault(family, []).append(by_id[op_id])
    return {
        family: ResultMedia(_kind(spec, family, ops), _stem(family))
        for family, ops in members.items()
    }

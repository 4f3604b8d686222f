"""A family's result media comes from the spec's words, or its x-freepik-mock-media."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.constants import RESULT_PATH
from mockserver.kinds import plan
from mockserver.result_media import VIDEO, ResultMedia, kind_from_words, result_media
from mockserver.spec import SpecError, load_spec


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("/v1/ai/image-to-video/kling-v2-1", "video"),
        ("/v1/ai/text-to-image/flux-dev", "image"),
        ("/v1/ai/reference-to-video/kling-v3-omni", "video"),
        ("/v1/ai/music-generation", "audio"),
        ("/v1/ai/voiceover/elevenlabs-turbo-v2-5", "audio"),
        ("/v1/ai/lip-sync/latent-sync", "video"),
        ("/v1/ai/text-to-icon", "image"),
        ("Mystic - Create image from text", "image"),
        ("/v1/ai/skin-enhancer", None),
    ],
)
def test_kind_from_words(text: str, kind: str | None) -> None:
    assert kind_from_words(text) == kind


def test_the_kling_result_path_keeps_its_observed_form() -> None:
    assert VIDEO.path("abc") == RESULT_PATH.format(task_id="abc")
    assert ResultMedia("image", "mystic").path("abc") == "/_mock/cdn/mystic_abc.png"
    assert ResultMedia("audio", "music").file(None) == "result_audio.wav"
    assert VIDEO.file("9:16") == "result_9x16.mp4"


SPEC = """\
openapi: 3.0.0
info: {{title: t, version: '1'}}
paths:
  /v1/ai/text-to-image/thing:
    post:
      {extension}
      requestBody:
        content: {{application/json: {{schema: {{type: object}}}}}}
      responses: {{'200': {{description: OK}}}}
  /v1/ai/text-to-image/thing/{{task-id}}:
    get:
      parameters: [{{name: task-id, in: path, required: true, schema: {{type: string}}}}]
      responses: {{'200': {{description: OK}}}}
"""


def _media(tmp_path: Path, extension: str) -> dict[str, ResultMedia]:
    (tmp_path / "spec.yaml").write_text(SPEC.format(extension=extension))
    spec = load_spec(tmp_path)
    found = plan(spec).families
    return result_media(spec, found.created, found.served)


def test_the_words_of_the_path_and_the_extensions_override(tmp_path: Path) -> None:
    family = "/v1/ai/text-to-image/thing"
    assert _media(tmp_path, "summary: s") == {family: ResultMedia("image", "thing")}
    overridden = _media(tmp_path, "x-freepik-mock-media: audio")
    assert overridden == {family: ResultMedia("audio", "thing")}
    with pytest.raises(SpecError, match="x-freepik-mock-media must be one of"):
        _media(tmp_path, "x-freepik-mock-media: hologram")


def test_the_vendored_families_make_kling_videos() -> None:
    spec = load_spec(None)
    found = plan(spec).families
    assert set(result_media(spec, found.created, found.served).values()) == {VIDEO}

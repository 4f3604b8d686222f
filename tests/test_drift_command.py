"""``freepik-mock drift`` as a user runs it: exit codes, messages, upstream snapshots."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from drift_support import (
    BASELINE,
    FIXTURES,
    LIST,
    POST,
    TASK,
    UPSTREAM,
    UPSTREAM_DOCS,
    WEBHOOK,
    case,
    needs_upstream,
)

from mockserver.cli import main
from mockserver.drift import DEFAULT_UPSTREAM, sources
from mockserver.spec import load_yaml, vendored_spec_dir


def _drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = _drift(capsys, "--format", "json", *args)
    report: dict[str, Any] = json.loads(out)
    assert report["exit_code"] == code
    return code, report


@pytest.mark.parametrize(
    ("name", "exit_code"),
    [("identical", 0), ("cfg-scale-max-1", 1), ("video-url-optional", 2),
     ("descriptions-only", 0)],
)
def test_exit_codes_follow_the_worst_class(
    capsys: pytest.CaptureFixture[str], name: str, exit_code: int
) -> None:
    assert _drift(capsys, "--spec-dir", str(BASELINE), "--upstream", case(name))[0] == exit_code


def test_fail_on_options(capsys: pytest.CaptureFixture[str]) -> None:
    base = ("--spec-dir", str(BASELINE), "--upstream")
    assert _drift(capsys, *base, case("descriptions-only"), "--fail-on", "any")[0] == 2
    assert _drift(capsys, *base, case("page-size-widened"), "--fail-on", "breaking")[0] == 0
    assert _drift(capsys, *base, case("cfg-scale-max-1"), "--fail-on", "breaking")[0] == 1


def test_text_report_names_path_old_new_and_class(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _drift(capsys, "--spec-dir", str(BASELINE), "--upstream",
                            case("cfg-scale-max-1"))
    assert code == 1 and err == ""
    assert "[breaking] cfg_scale: maximum 2 -> 1 (narrowed)" in out
    assert ("path  $.paths['/v1/ai/reference-to-video/kling-v3-omni-std'].post.requestBody"
            ".content['application/json'].schema.properties.cfg_scale.maximum") in out
    assert "old   2\n" in out and "new   1\n" in out
    assert "Result: 1 breaking, 0 non-breaking, 0 info -> exit 1" in out


def test_the_vendored_spec_against_an_identical_copy_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # One upstream document holding everything the vendored documents hold.
    merged: dict[str, Any] = {}
    for path in sorted(vendored_spec_dir().glob("*.yaml")):
        document = load_yaml(path.read_bytes())
        merged.setdefault("openapi", document["openapi"])
        merged.setdefault("servers", document["servers"])
        merged.setdefault("paths", {}).update(document["paths"])
        for section, entries in document["components"].items():
            merged.setdefault("components", {}).setdefault(section, {}).update(entries)
    copy = tmp_path / "upstream.json"
    copy.write_text(json.dumps(merged))
    code, report = _json(capsys, "--upstream", str(copy))
    assert code == 0
    assert report["findings"] == [] and report["not_covered"] == []
    assert set(report["compared"]) == {POST, LIST, TASK, WEBHOOK}


def test_a_file_that_is_not_a_spec_exits_3_with_a_readable_message(
    capsys: pytest.CaptureFixture[str]
) -> None:
    page = FIXTURES / "not-a-spec" / "webhooks-page.md"
    code, out, err = _drift(capsys, "--spec-dir", str(BASELINE), "--upstream", str(page))
    assert code == 3 and out == ""
    assert err == (f"freepik-mock drift: {page}: a Markdown page without a fenced ```yaml "
                   "block holding an OpenAPI document (a docs page in the seed's form has one), "
                   "so not a spec\n")


def test_an_unreachable_upstream_exits_3_naming_the_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "RETRY_DELAY_S", 0.0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/freepik-api-v1-openapi.yaml"
    code, out, err = _drift(capsys, "--upstream", url, "--timeout", "2")
    assert code == 3 and out == ""
    assert err.startswith(f"freepik-mock drift: could not fetch {url}: ConnectError")


def test_without_upstream_it_fetches_the_full_spec(capsys: pytest.CaptureFixture[str]) -> None:
    with respx.mock as mock:
        route = mock.get(DEFAULT_UPSTREAM).mock(
            return_value=httpx.Response(200, content=Path(case("magnific-rebrand")).read_bytes())
        )
        code, report = _json(capsys, "--spec-dir", str(BASELINE), "--require-all")
    assert route.call_count == 1
    assert code == 1
    assert report["sources"] == [DEFAULT_UPSTREAM]
    assert {f["rule"] for f in report["findings"]} == {"server-changed", "auth-changed"}


def test_output_writes_the_report_to_a_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "drift.xml"
    code, out, err = _drift(capsys, "--spec-dir", str(BASELINE), "--upstream",
                            case("cfg-scale-max-1"), "--format", "junit", "--output", str(target))
    assert code == 1 and out == ""
    assert "report written to" in err
    assert target.read_text().startswith('<?xml version="1.0" encoding="utf-8"?>')


def test_a_broken_vendored_spec_dir_exits_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _drift(capsys, "--spec-dir", str(tmp_path), "--upstream", case("identical"))
    assert code == 3
    assert err.startswith(f"freepik-mock drift: cannot load the vendored spec in {tmp_path}:")


def test_update_rewrites_only_the_spec_dir_it_is_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec_dir = tmp_path / "openapi"
    shutil.copytree(BASELINE, spec_dir)
    code, _, err = _drift(capsys, "--spec-dir", str(spec_dir), "--upstream",
                          case("cfg-scale-max-1"), "--update")
    assert code == 0
    assert "rewrote" in err and "kling-v3-omni-std.yaml" in err
    assert _drift(capsys, "--spec-dir", str(spec_dir), "--upstream", case("cfg-scale-max-1"))[
        0
    ] == 0
    assert _drift(capsys, "--spec-dir", str(BASELINE), "--upstream", case("cfg-scale-max-1"))[
        0
    ] == 1


# --- the upstream snapshots in ../shared/upstream/ -------------------------------------


@needs_upstream
def test_knguyen_data_copy_has_no_breaking_drift(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _json(capsys, "--upstream",
                         str(UPSTREAM / "freepik-openapi-Knguyen-data-5e0ab63.yaml"))
    assert code == 0
    assert report["findings"] == []
    assert set(report["compared"]) == {POST, LIST, TASK}
    assert {n["path"] for n in report["not_covered"]} == {
        "$.paths['/v1/ai/reference-to-video/kling-v3-omni/{task-id}'].get.responses['404']",
        "$.components.schemas['kling-v3-omni-webhook-payload']",
    }


@needs_upstream
def test_knguyen_data_docs_pages_in_the_seed_form(capsys: pytest.CaptureFixture[str]) -> None:
    pages = sorted(UPSTREAM_DOCS.glob("freepik-docs-Knguyen-data-*.md"))
    args = [arg for page in pages for arg in ("--upstream", str(page))]
    code, report = _json(capsys, *args, "--require-all")
    assert code == 0
    assert report["findings"] == [] and report["missing"] == []
    assert "generate-std-video-reference.md" in report["compared"][POST]


@needs_upstream
def test_the_magnific_rebrand_is_breaking_and_names_each_change(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    snapshot = UPSTREAM / "freepik-openapi-kacperpaczos-1373326.yaml"
    # Write the aspect ratios unquoted, as the live upstream file does (YAML 1.1: 969...).
    text = snapshot.read_text(encoding="utf-8")
    for ratio in ("16:9", "9:16", "1:1"):
        text = text.replace(f"'{ratio}'", ratio)
    assert "\n      - 16:9\n" in text or "\n      default: 16:9\n" in text
    unquoted = tmp_path / "magnific-unquoted.yaml"
    unquoted.write_text(text, encoding="utf-8")
    for source in (snapshot, unquoted):
        code, report = _json(capsys, "--upstream", str(source), "--require-all")
        assert code == 1
        found = {(f["class"], f["rule"], f["path"].rsplit(".", 1)[-1]): f
                 for f in report["findings"]}
        assert set(found) == {
            ("breaking", "range-narrowed", "maximum"),
            ("breaking", "server-changed", "servers"),
            ("breaking", "auth-changed", "security"),
            ("info", "description-changed", "description"),
        }
        cfg = found[("breaking", "range-narrowed", "maximum")]
        assert "cfg_scale" in cfg["path"] and (cfg["old"], cfg["new"]) == (2, 1)
        assert found[("breaking", "auth-changed", "security")]["new"] == [
            "API key in header x-magnific-api-key"
        ]
        assert not any("aspect_ratio" in f["path"] for f in report["findings"])


@needs_upstream
def test_an_old_spec_without_these_operations_lists_them_missing(
    capsys: pytest.CaptureFixture[str]
) -> None:
    old = str(UPSTREAM / "freepik-openapi-aprenderia-d32aa83.yaml")
    code, report = _json(capsys, "--upstream", old)
    assert code == 0
    assert report["compared"] == {} and report["findings"] == []
    assert report["missing"] == [POST, LIST, TASK]
    code, report = _json(capsys, "--upstream", old, "--require-all")
    assert code == 1
    assert [(f["rule"], f["operations"]) for f in report["findings"]] == [
        ("operation-missing", [POST]), ("operation-missing", [LIST]),
        ("operation-missing", [TASK]),
    ]


@needs_upstream
def test_the_webhooks_docs_page_is_not_a_spec(capsys: pytest.CaptureFixture[str]) -> None:
    page = UPSTREAM_DOCS / "freepik-docs-Must-be-Ash-886a2ee-webhooks.md"
    code, _, err = _drift(capsys, "--upstream", str(page))
    assert code == 3
    assert f"{page}: a Markdown page without a fenced ```yaml block" in err

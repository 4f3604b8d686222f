"""``freepik-mock drift`` as a user runs it: exit codes, messages, upstream snapshots."""

from __future__ import annotations

import hashlib
import json
import re
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
    MAGNIFIC,
    MAGNIFIC_R2V_STD,
    POST,
    R2V_PRO,
    TASK,
    UPSTREAM,
    UPSTREAM_DOCS,
    VENDORED,
    VIDEO_PRO,
    VIDEO_STD,
    WEBHOOK,
    case,
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
    [("identical", 0), ("cfg-scale-max-1", 1), ("video-url-optional", 2), ("descriptions-only", 0)],
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
    code, out, err = _drift(
        capsys, "--spec-dir", str(BASELINE), "--upstream", case("cfg-scale-max-1")
    )
    assert code == 1 and err == ""
    assert "[breaking] cfg_scale: maximum 2 -> 1 (narrowed)" in out
    assert (
        "path  $.paths['/v1/ai/reference-to-video/kling-v3-omni-std'].post.requestBody"
        ".content['application/json'].schema.properties.cfg_scale.maximum"
    ) in out
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
        merged.setdefault("security", document["security"])
        merged.setdefault("paths", {}).update(document["paths"])
        for section, entries in document["components"].items():
            merged.setdefault("components", {}).setdefault(section, {}).update(entries)
    copy = tmp_path / "upstream.json"
    copy.write_text(json.dumps(merged))
    code, report = _json(capsys, "--upstream", str(copy))
    assert code == 0
    assert report["findings"] == [] and report["not_covered"] == []
    assert list(report["compared"]) == [*VENDORED, WEBHOOK]


def test_a_file_that_is_not_a_spec_exits_3_with_a_readable_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = FIXTURES / "not-a-spec" / "webhooks-page.md"
    code, out, err = _drift(capsys, "--spec-dir", str(BASELINE), "--upstream", str(page))
    assert code == 3 and out == ""
    assert err == (
        f"freepik-mock drift: {page}: a Markdown page without a fenced ```yaml "
        "block holding an OpenAPI document (a docs page in the seed's form has one), "
        "so not a spec\n"
    )


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
    code, out, err = _drift(
        capsys,
        "--spec-dir",
        str(BASELINE),
        "--upstream",
        case("cfg-scale-max-1"),
        "--format",
        "junit",
        "--output",
        str(target),
    )
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
    code, out, err = _drift(
        capsys, "--spec-dir", str(spec_dir), "--upstream", case("cfg-scale-max-1"), "--update"
    )
    assert "rewrote" in err and "kling-v3-omni-std.yaml" in err
    # What was found, then the verdict that the exit code follows: nothing remains.
    assert "Found: 1 breaking, 0 non-breaking, 0 info (before --update)\n" in out
    assert out.endswith(
        "Result after --update: 0 breaking, 0 non-breaking, 0 info -> exit 0 "
        "(no drift that fails this check)\n"
    )
    assert code == 0
    assert (
        _drift(capsys, "--spec-dir", str(spec_dir), "--upstream", case("cfg-scale-max-1"))[0] == 0
    )
    assert (
        _drift(capsys, "--spec-dir", str(BASELINE), "--upstream", case("cfg-scale-max-1"))[0] == 1
    )


def test_update_exits_with_the_drift_it_could_not_accept(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GET by id gains a 429, but the source lacks GET list, so the tasks file stays.
    upstream = load_yaml(Path(case("new-response-code")).read_bytes())
    del upstream["paths"]["/v1/ai/reference-to-video/kling-v3-omni"]
    partial = tmp_path / "partial.yaml"
    partial.write_text(json.dumps(upstream))
    spec_dir = tmp_path / "openapi"
    shutil.copytree(BASELINE, spec_dir)
    code, out, err = _drift(
        capsys, "--spec-dir", str(spec_dir), "--upstream", str(partial), "--update"
    )
    assert "kept" in err and "upstream lacks GET /v1/ai/reference-to-video/kling-v3-omni" in err
    assert "-> exit 2 (drift that is not breaking" in out.splitlines()[-1]
    assert code == 2
    code, report = _json(
        capsys, "--spec-dir", str(spec_dir), "--upstream", str(partial), "--update"
    )  # _json: the JSON's exit code is the one returned
    assert code == 2
    assert report["summary"] == {"breaking": 0, "non-breaking": 1, "info": 0}
    assert report["update"]["summary_after"] == report["summary"]
    assert report["update"]["kept"][1]["file"] == "kling-v3-omni-tasks.yaml"


def test_an_update_that_cannot_be_written_says_exit_3_and_exits_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Two sources that disagree on the shared "task" schema: nothing can be written.
    first = load_yaml(Path(case("task-status-new-value")).read_bytes())
    del first["paths"]["/v1/ai/reference-to-video/kling-v3-omni/{task-id}"]
    (tmp_path / "first.json").write_text(json.dumps(first))
    spec_dir = tmp_path / "openapi"
    shutil.copytree(BASELINE, spec_dir)
    code, out, err = _drift(
        capsys,
        "--spec-dir",
        str(spec_dir),
        "--upstream",
        str(tmp_path / "first.json"),
        "--upstream",
        case("identical"),
        "--update",
    )
    assert "nothing written: components.schemas.task differs between" in err
    assert out.splitlines()[-1].startswith("Result: -> exit 3 (--update wrote nothing: ")
    assert code == 3


def test_info_findings_are_one_line_per_rule_unless_show_info(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A docs page rewords many descriptions; the one real finding must stand out.
    page = str(UPSTREAM_DOCS / "freepik-docs-Knguyen-data-5e0ab63-generate-std-video-reference.md")
    args = ("--spec-dir", str(BASELINE), "--upstream", page)
    code, out, _ = _drift(capsys, *args)
    _, report = _json(capsys, *args)
    info = [f for f in report["findings"] if f["class"] == "info"]
    assert len(info) > 20  # the JSON report keeps every one
    rules = {f["rule"]: sum(1 for g in info if g["rule"] == f["rule"]) for f in info}
    assert "[info]" not in out
    assert f"INFO ({len(info)}, by rule; --show-info lists each):" in out
    for rule, count in rules.items():
        assert re.search(rf"^  {rule} +{count}  in {re.escape(POST)}$", out, re.MULTILINE), rule
    assert len(out.splitlines()) < 25
    code_all, out_all, _ = _drift(capsys, *args, "--show-info")
    assert code_all == code == 0
    assert out_all.count("[info]") == len(info)
    assert f"INFO ({len(info)}):" in out_all


def test_grouped_info_does_not_hide_breaking_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _drift(
        capsys,
        "--spec-dir",
        str(BASELINE),
        "--upstream",
        str(FIXTURES / "docs-page-cfg-scale-max-1.md"),
    )
    assert code == 1
    assert "  [breaking] cfg_scale: maximum 2 -> 1 (narrowed)\n" in out


# --- the upstream snapshots in fixtures/drift/upstream/ ---------------------------------


def test_knguyen_data_copy_has_no_drift_in_what_it_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = _json(
        capsys, "--upstream", str(UPSTREAM / "freepik-openapi-Knguyen-data-5e0ab63.yaml")
    )
    assert code == 0
    assert report["findings"] == []
    assert list(report["compared"]) == [POST, LIST, TASK]
    assert report["missing"] == [op for op in VENDORED if op not in (POST, LIST, TASK)]
    assert {n["path"] for n in report["not_covered"]} == {
        "$.paths['/v1/ai/reference-to-video/kling-v3-omni/{task-id}'].get.responses['404']",
        "$.components.schemas['kling-v3-omni-webhook-payload']",
    }


def test_the_docs_pages_in_the_seed_form_are_what_the_vendored_spec_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pages = sorted(UPSTREAM_DOCS.glob("freepik-docs-Knguyen-data-*.md"))
    assert len(pages) == 8  # one per vendored operation
    args = [arg for page in pages for arg in ("--upstream", str(page))]
    code, report = _json(capsys, *args, "--require-all")
    assert code == 0
    assert report["findings"] == [] and report["missing"] == []
    assert set(report["compared"]) == set(VENDORED)
    assert "generate-std-video-reference.md" in report["compared"][POST]
    assert "generate-pro-video.md" in report["compared"][VIDEO_PRO]


def _by_rule(report: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        found.setdefault((finding["class"], finding["rule"]), []).append(finding)
    return found


def test_the_whole_magnific_spec_names_what_changed_for_the_family(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Its lines are the whole spec's: the ratios stay unquoted (YAML 1.1 would read 969).
    assert "\n      - 16:9\n" in MAGNIFIC.read_text(encoding="utf-8")
    code, report = _json(capsys, "--upstream", str(MAGNIFIC), "--require-all")
    assert code == 1
    assert list(report["compared"]) == list(VENDORED) and report["missing"] == []
    found = _by_rule(report)
    assert set(found) == {
        ("breaking", "range-narrowed"),
        ("breaking", "field-removed"),
        ("breaking", "server-changed"),
        ("breaking", "auth-changed"),
        ("info", "description-changed"),
    }
    # cfg_scale 2 -> 1 on both reference-to-video tiers.
    assert [(f["operations"], f["old"], f["new"]) for f in found["breaking", "range-narrowed"]] == [
        ([R2V_PRO], 2, 1),
        ([POST], 2, 1),
    ]
    assert all(
        f["path"].endswith(".cfg_scale.maximum") for f in found["breaking", "range-narrowed"]
    )
    # voice_ids is gone from both text/image-to-video tiers: the fake still accepts it.
    assert [
        (f["operations"], f["path"].rsplit(".", 1)[-1]) for f in found["breaking", "field-removed"]
    ] == [([VIDEO_PRO], "voice_ids"), ([VIDEO_STD], "voice_ids")]
    # The rebrand: every operation, once each.
    for rule in ("server-changed", "auth-changed"):
        [finding] = found["breaking", rule]
        assert finding["operations"] == list(VENDORED)
    [auth] = found["breaking", "auth-changed"]
    assert auth["new"] == ["API key in header x-magnific-api-key"]
    assert not any("aspect_ratio" in f["path"] for f in report["findings"])
    # The vendored spec holds the whole family: no upstream tier is missing from it.
    assert not any(f["rule"] == "operation-not-vendored" for f in report["findings"])
    assert {tuple(families) for families in report["families"].values()} == {
        ("/v1/ai/reference-to-video/kling-v3-omni",),
        ("/v1/ai/video/kling-v3-omni",),
    }


def test_a_tier_upstream_has_and_the_vendored_spec_lacks_is_listed_as_info(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The baseline holds the std reference-to-video operations only; the Magnific spec
    # also has its pro tier, the text/image-to-video family and the kling-v3 family.
    code, report = _json(capsys, "--spec-dir", str(BASELINE), "--upstream", str(MAGNIFIC))
    listed = [f for f in report["findings"] if f["rule"] == "operation-not-vendored"]
    assert [(f["class"], f["operations"], f["path"]) for f in listed] == [
        ("info", [R2V_PRO], "$.paths['/v1/ai/reference-to-video/kling-v3-omni-pro'].post"),
    ]
    assert listed[0]["new"]["operationId"] == "postAiReferenceToVideoKlingV3OmniPro"
    assert report["families"][R2V_PRO] == ["/v1/ai/reference-to-video/kling-v3-omni"]
    assert code == 1  # the rebrand; the new tier alone fails only with --fail-on any
    code, out, _ = _drift(capsys, "--spec-dir", str(BASELINE), "--upstream", str(MAGNIFIC))
    assert f"  operation-not-vendored    1  in {R2V_PRO}\n" in out


def test_the_reference_to_video_extract_reports_its_three_operations(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Write the aspect ratios unquoted, as the live upstream file does (YAML 1.1: 969...).
    text = MAGNIFIC_R2V_STD.read_text(encoding="utf-8")
    for ratio in ("16:9", "9:16", "1:1"):
        text = text.replace(f"'{ratio}'", ratio)
    assert "\n      - 16:9\n" in text or "\n      default: 16:9\n" in text
    unquoted = tmp_path / "magnific-unquoted.yaml"
    unquoted.write_text(text, encoding="utf-8")
    for source in (MAGNIFIC_R2V_STD, unquoted):
        code, report = _json(capsys, "--upstream", str(source))
        assert code == 1
        assert list(report["compared"]) == [POST, LIST, TASK]
        assert report["missing"] == [op for op in VENDORED if op not in (POST, LIST, TASK)]
        found = {
            (f["class"], f["rule"], f["path"].rsplit(".", 1)[-1]): f for f in report["findings"]
        }
        assert set(found) == {
            ("breaking", "range-narrowed", "maximum"),
            ("breaking", "server-changed", "servers"),
            ("breaking", "auth-changed", "security"),
            ("info", "description-changed", "description"),
        }
        cfg = found[("breaking", "range-narrowed", "maximum")]
        assert "cfg_scale" in cfg["path"] and (cfg["old"], cfg["new"]) == (2, 1)
        assert not any("aspect_ratio" in f["path"] for f in report["findings"])


def test_an_old_spec_without_these_operations_lists_them_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = str(UPSTREAM / "freepik-openapi-aprenderia-d32aa83.yaml")
    code, report = _json(capsys, "--upstream", old)
    assert code == 0
    assert report["compared"] == {} and report["findings"] == []
    assert report["missing"] == list(VENDORED)
    code, report = _json(capsys, "--upstream", old, "--require-all")
    assert code == 1
    assert [(f["rule"], f["operations"]) for f in report["findings"]] == [
        ("operation-missing", [label]) for label in VENDORED
    ]


def test_the_webhooks_docs_page_is_not_a_spec(capsys: pytest.CaptureFixture[str]) -> None:
    page = UPSTREAM_DOCS / "freepik-docs-Must-be-Ash-886a2ee-webhooks.md"
    code, _, err = _drift(capsys, "--upstream", str(page))
    assert code == 3
    assert f"{page}: a Markdown page without a fenced ```yaml block" in err


def test_the_snapshots_are_the_files_their_provenance_names() -> None:
    rows = [
        line.split(" | ")
        for line in (UPSTREAM / "PROVENANCE.md").read_text().splitlines()
        if line.startswith("| `")
    ]
    named = {row[0].strip("| `"): row[-1].strip("` |") for row in rows}
    present = {
        str(path.relative_to(UPSTREAM))
        for path in UPSTREAM.rglob("*")
        if path.is_file() and path.suffix in (".yaml", ".md") and path.name != "PROVENANCE.md"
    }
    assert set(named) == present
    for name, digest in named.items():
        assert hashlib.sha256((UPSTREAM / name).read_bytes()).hexdigest() == digest, name

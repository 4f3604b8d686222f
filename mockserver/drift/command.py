"""``freepik-mock drift``: load, compare, report, and optionally accept the changes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ..spec import Spec, SpecError, load_spec, vendored_spec_dir
from .compare import compare_documents
from .findings import EXIT_UNREADABLE, DriftReport, FailOn, UpdateOutcome
from .report import render
from .sources import (
    DEFAULT_UPSTREAM,
    FETCH_TIMEOUT_S,
    SourceDocument,
    SourceError,
    display_name,
    load_source,
)
from .update import UpdateError, update_vendored

__all__ = ["EXIT_UNREADABLE", "check_drift", "run_drift"]


class _Unreadable(Exception):
    """Something could not be fetched, read or compared: exit 3 with this message."""


def check_drift(
    upstreams: Sequence[str] = (),
    *,
    spec_dir: Path | str | None = None,
    require_all: bool = False,
    timeout: float = FETCH_TIMEOUT_S,
) -> tuple[DriftReport, list[SourceDocument]]:
    """Compare the vendored spec (or ``spec_dir``) with the upstream sources
    (default: the full upstream spec). Returns the report and the upstream documents.

    Raises :class:`SourceError` or :class:`SpecError` when something cannot be read.
    """
    folder = Path(spec_dir) if spec_dir is not None else vendored_spec_dir()
    spec = load_spec(folder)
    sources = list(upstreams) or [DEFAULT_UPSTREAM]
    documents = [
        document for source in sources for document in load_source(source, timeout=timeout)
    ]
    return _compare(spec, folder, sources, documents, require_all), documents


def _compare(
    spec: Spec,
    folder: Path,
    sources: Sequence[str],
    documents: Sequence[SourceDocument],
    require_all: bool,
) -> DriftReport:
    return compare_documents(
        [(path.name, document) for path, document in spec.documents.items()],
        [(document.label, document.document) for document in documents],
        sources=[display_name(source) for source in sources],
        vendored_name=f"vendored spec in {folder}",
        require_all=require_all,
    )


def run_drift(
    upstreams: Sequence[str] = (),
    *,
    fmt: str = "text",
    fail_on: FailOn = FailOn.NON_BREAKING,
    require_all: bool = False,
    spec_dir: Path | str | None = None,
    update: bool = False,
    output: Path | str | None = None,
    timeout: float = FETCH_TIMEOUT_S,
    show_info: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """The command: print the report and return the exit code (0, 1, 2 or 3).

    With ``update`` the exit code, and the verdict printed, are those of the drift that
    remains once the vendored files are rewritten: the command was asked to accept the
    drift, so a complete update exits 0 (``drift --update && git commit`` works), and one
    that had to keep files still drifting fails as a plain check would.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    folder = Path(spec_dir) if spec_dir is not None else vendored_spec_dir()
    try:
        report, documents = _check(upstreams, folder, require_all, timeout)
    except _Unreadable as exc:
        print(f"freepik-mock drift: {exc}", file=err)
        return EXIT_UNREADABLE
    outcome = _update(folder, upstreams, documents, require_all) if update else None
    text = render(report, fmt, fail_on, show_info=show_info, update=outcome)
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
        print(f"freepik-mock drift: report written to {output}", file=err)
    else:
        out.write(text)
    if outcome is None:
        return report.exit_code(fail_on)
    _say_updated(outcome, folder, err)
    return outcome.exit_code(fail_on)


def _update(
    folder: Path, upstreams: Sequence[str], documents: list[SourceDocument], require_all: bool
) -> UpdateOutcome:
    try:
        result = update_vendored(folder, documents)
    except (UpdateError, OSError) as exc:
        return UpdateOutcome(after=None, problem=str(exc))
    written = tuple((entry.name, entry.kind) for entry in result.written)
    try:
        spec = load_spec(folder)
    except (SpecError, OSError) as exc:  # update_vendored checked it; only if changed since
        return UpdateOutcome(None, written, result.kept, f"the rewritten spec does not load: {exc}")
    sources = list(upstreams) or [DEFAULT_UPSTREAM]
    after = _compare(spec, folder, sources, documents, require_all)
    return UpdateOutcome(after, written, result.kept)


def _say_updated(outcome: UpdateOutcome, folder: Path, err: TextIO) -> None:
    if outcome.problem is not None and not outcome.written:
        print(f"freepik-mock drift --update: nothing written: {outcome.problem}", file=err)
        return
    for name, kind in outcome.written:
        print(f"freepik-mock drift --update: rewrote {folder / name} ({kind})", file=err)
    for name, reason in outcome.kept:
        print(f"freepik-mock drift --update: kept {folder / name}: {reason}", file=err)
    if outcome.written:
        print(
            f"freepik-mock drift --update: recorded source, date and sha256 in "
            f"{folder / 'PROVENANCE.md'}; review the diff and commit it",
            file=err,
        )
    else:
        print("freepik-mock drift --update: nothing rewritten", file=err)
    if outcome.problem is not None:
        print(f"freepik-mock drift --update: {outcome.problem}", file=err)


def _check(
    upstreams: Sequence[str], folder: Path, require_all: bool, timeout: float
) -> tuple[DriftReport, list[SourceDocument]]:
    try:
        spec = load_spec(folder)
    except (SpecError, OSError) as exc:
        raise _Unreadable(f"cannot load the vendored spec in {folder}: {exc}") from None
    sources = list(upstreams) or [DEFAULT_UPSTREAM]
    documents: list[SourceDocument] = []
    for source in sources:
        try:
            documents += load_source(source, timeout=timeout)
        except SourceError as exc:
            raise _Unreadable(str(exc)) from None
    try:
        return _compare(spec, folder, sources, documents, require_all), documents
    except SpecError as exc:
        raise _Unreadable(
            f"cannot compare with {', '.join(map(display_name, sources))}: {exc}"
        ) from None
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        # A document that reads as YAML and says openapi: 3.x but is shaped otherwise.
        raise _Unreadable(
            f"cannot compare with {', '.join(map(display_name, sources))}: a document has an "
            f"unexpected shape ({type(exc).__name__}: {exc})"
        ) from None

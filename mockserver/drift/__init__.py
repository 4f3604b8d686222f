"""Spec drift detection: compare the vendored spec with Freepik's upstream spec or docs.

``freepik-mock drift`` is the command; :func:`check_drift` is the same check as a
function. Findings are classed breaking, non-breaking or info from the point of view of
a client of the API; :func:`update_vendored` accepts upstream changes into the vendored
spec and records their provenance.
"""

from .command import check_drift, run_drift
from .compare import compare_documents
from .findings import DriftReport, FailOn, Finding, NotCovered, Severity, UpdateOutcome
from .report import FORMATS, render
from .sources import DEFAULT_UPSTREAM, SourceDocument, SourceError, load_source
from .update import UpdateError, UpdateResult, update_vendored

__all__ = [
    "DEFAULT_UPSTREAM",
    "FORMATS",
    "DriftReport",
    "FailOn",
    "Finding",
    "NotCovered",
    "Severity",
    "SourceDocument",
    "SourceError",
    "UpdateError",
    "UpdateOutcome",
    "UpdateResult",
    "check_drift",
    "compare_documents",
    "load_source",
    "render",
    "run_drift",
    "update_vendored",
]

"""Comparing the vendored spec with upstream, operation by operation.

The old side is always the vendored spec, the new side upstream. Each covered operation
is compared after resolving refs: parameters, request body, every documented response
(the error bodies included), server URL and authentication. The webhook payload, which
upstream has never published as a schema, is compared when both sides have one.

Upstream operations the vendored spec lacks are listed (info) when they belong to a task
family the vendored spec covers: a new tier beside std and pro gets noticed. Families are
the fake's own (``mockserver.kinds.plan``), over both sides together: a read shared by
tiers belongs to each tier's family, and operations answered at once to none (they are
grouped as ``calls`` in the report).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..spec import resolve_refs
from .extract import (
    WEBHOOK_LABEL,
    LocatedOperation,
    auth_alternatives,
    effective_servers,
    family_of,
    find_operations,
    find_webhook_payload,
    operation_key,
    operation_view,
    operations_in,
)
from .findings import CALLS, Direction, DriftReport, JsonPath, Severity, merge_duplicates
from .schema_diff import Collector, diff_schema, is_derived, summarize

__all__ = ["compare_documents"]

Documents = Sequence[tuple[str, dict[str, Any]]]


def compare_documents(
    vendored: Documents,
    upstream: Documents,
    *,
    sources: Sequence[str] = (),
    vendored_name: str = "vendored spec",
    require_all: bool = False,
    list_not_vendored: bool = True,
) -> DriftReport:
    """Compare every operation of ``vendored`` with the same operation upstream.

    ``vendored`` and ``upstream`` are ``(origin, document)`` pairs; where several
    upstream documents hold an operation, the first one counts. ``list_not_vendored``
    adds upstream's operations of a covered family that ``vendored`` lacks (info).
    """
    ours = find_operations(
        vendored,
        [
            operation_key(method, path)
            for _, document in vendored
            for method, path in operations_in(document)
        ],
    )
    theirs = find_operations(upstream, ours)
    out = Collector()
    compared: dict[str, str] = {}
    missing: list[str] = []
    for key, old in ours.items():
        new = theirs.get(key)
        if new is None:
            missing.append(old.label)
            if require_all:
                out.add(
                    Severity.BREAKING,
                    "operation-missing",
                    old.json_path,
                    old.label,
                    None,
                    f"{old.label} is not in the upstream source (removed or renamed endpoint)",
                    (old.label,),
                )
            continue
        compared[old.label] = new.origin
        _compare_operation(old, new, out)

    creates = [key for key in ours if key[0] == "post"]
    mine = find_webhook_payload(vendored, creates[0] if creates else None)
    if mine is not None:
        found = find_webhook_payload(upstream, creates[0] if creates else None)
        if found is None:
            out.note(
                mine.path,
                "webhook payload: this source has no schema for it (upstream "
                "describes the webhook body only in prose)",
                (WEBHOOK_LABEL,),
            )
        else:
            compared[WEBHOOK_LABEL] = found.origin
            diff_schema(
                resolve_refs(mine.document, mine.schema),
                resolve_refs(found.document, found.schema),
                mine.path,
                "webhook payload",
                Direction.RESPONSE,
                out,
                (WEBHOOK_LABEL,),
            )
    families = _not_vendored(ours, vendored, upstream, out) if list_not_vendored else {}
    return DriftReport(
        sources=tuple(sources),
        vendored=vendored_name,
        compared=compared,
        missing=tuple(missing),
        findings=merge_duplicates(out.findings),
        not_covered=tuple(out.not_covered),
        require_all=require_all,
        families=families,
    )


def _not_vendored(
    ours: Mapping[tuple[str, str], LocatedOperation],
    vendored: Documents,
    upstream: Documents,
    out: Collector,
) -> dict[str, tuple[str, ...]]:
    """List upstream's operations of a covered family that the vendored spec lacks; return
    the families of every covered or listed operation, by label (``calls`` for one
    answered at once)."""
    family = family_of([*vendored, *upstream])
    labels = {old.label: family[key] or (CALLS,) for key, old in ours.items()}
    covered = {name for key in ours for name in family[key]}
    seen = set(ours)
    for origin, document in upstream:
        for method, path in operations_in(document):
            key = operation_key(method, path)
            if key in seen or not covered.intersection(family[key]):
                continue
            seen.add(key)
            new = LocatedOperation(method, path, document, origin)
            labels[new.label] = family[key]
            names = ", ".join(family[key])
            out.add(
                Severity.INFO,
                "operation-not-vendored",
                new.json_path,
                None,
                {
                    "operationId": new.raw.get("operationId"),
                    "summary": new.raw.get("summary"),
                    "source": origin,
                },
                f"{new.label}: upstream has this operation of the covered family "
                f"{names}; the vendored spec lacks it (a new tier? vendor it to serve it)",
                (new.label,),
            )
    return labels


_OPERATION_INFO = ("summary", "description", "tags", "operationId", "externalDocs")


def _compare_operation(old: LocatedOperation, new: LocatedOperation, out: Collector) -> None:
    was, now = operation_view(old), operation_view(new)
    ops = (old.label,)
    at = old.json_path
    for key in _OPERATION_INFO:
        if was.get(key) != now.get(key):
            out.add(
                Severity.INFO,
                "description-changed",
                (*at, key),
                was.get(key),
                now.get(key),
                f"{old.label}: {key} changed",
                ops,
            )
    if bool(was.get("deprecated")) != bool(now.get("deprecated")):
        out.add(
            Severity.NON_BREAKING,
            "deprecated-changed",
            (*at, "deprecated"),
            bool(was.get("deprecated")),
            bool(now.get("deprecated")),
            f"{old.label}: deprecated {bool(was.get('deprecated'))} -> "
            f"{bool(now.get('deprecated'))}",
            ops,
        )
    _compare_parameters(old, was, new, now, out)
    _compare_request_body(
        was.get("requestBody"), now.get("requestBody"), (*at, "requestBody"), old.label, out
    )
    _compare_responses(
        was.get("responses") or {}, now.get("responses") or {}, (*at, "responses"), old.label, out
    )
    _compare_servers(old, new, out)
    _compare_auth(old, new, out)


def _path_params(path: str) -> list[str]:
    return re.findall(r"\{([^}]*)\}", path)


def _param_key(param: Mapping[str, Any], path: str) -> tuple[str, str]:
    where, name = str(param.get("in")), str(param.get("name"))
    if where == "path" and name in _path_params(path):
        return where, f"#{_path_params(path).index(name)}"  # position, not name, matters
    return where, name.lower() if where == "header" else name


def _compare_parameters(
    old: LocatedOperation,
    was: Mapping[str, Any],
    new: LocatedOperation,
    now: Mapping[str, Any],
    out: Collector,
) -> None:
    ops = (old.label,)
    old_list, new_list = was.get("parameters") or [], now.get("parameters") or []
    old_params = {_param_key(p, old.path): (i, p) for i, p in enumerate(old_list)}
    new_params = {_param_key(p, new.path): (i, p) for i, p in enumerate(new_list)}
    for key, (index, param) in old_params.items():
        at: JsonPath = (*old.json_path, "parameters", index)
        label = f"{param.get('in')} parameter {param.get('name')!r}"
        if key not in new_params:
            if is_derived(param):
                out.note(at, f"{label} is a vendored addition this source lacks", ops)
            else:
                out.add(
                    Severity.BREAKING,
                    "parameter-removed",
                    at,
                    summarize(param),
                    None,
                    f"{old.label}: {label} removed",
                    ops,
                )
            continue
        other = new_params[key][1]
        if param.get("name") != other.get("name"):
            out.add(
                Severity.INFO,
                "parameter-renamed",
                (*at, "name"),
                param.get("name"),
                other.get("name"),
                f"{old.label}: {label} renamed",
                ops,
            )
        required_was = bool(param.get("required", param.get("in") == "path"))
        required_now = bool(other.get("required", other.get("in") == "path"))
        if required_was != required_now:
            out.add(
                Severity.BREAKING if required_now else Severity.NON_BREAKING,
                "parameter-became-required" if required_now else "parameter-no-longer-required",
                (*at, "required"),
                required_was,
                required_now,
                f"{old.label}: {label} "
                f"{'became required' if required_now else 'is no longer required'}",
                ops,
            )
        for info in ("description", "example", "examples"):
            if param.get(info) != other.get(info):
                out.add(
                    Severity.INFO,
                    "description-changed" if info == "description" else "example-changed",
                    (*at, info),
                    param.get(info),
                    other.get(info),
                    f"{old.label}: {label} {info} changed",
                    ops,
                )
        diff_schema(
            param.get("schema"),
            other.get("schema"),
            (*at, "schema"),
            str(param.get("name")),
            Direction.REQUEST,
            out,
            ops,
        )
    for key, (index, param) in new_params.items():
        if key in old_params:
            continue
        at = (*old.json_path, "parameters", index)
        label = f"{param.get('in')} parameter {param.get('name')!r}"
        if param.get("required"):
            out.add(
                Severity.BREAKING,
                "required-parameter-added",
                at,
                None,
                summarize(param),
                f"{old.label}: new required {label}",
                ops,
            )
        else:
            out.add(
                Severity.NON_BREAKING,
                "parameter-added",
                at,
                None,
                summarize(param),
                f"{old.label}: new optional {label}",
                ops,
            )


def _compare_content(
    was: Mapping[str, Any],
    now: Mapping[str, Any],
    at: JsonPath,
    what: str,
    direction: Direction,
    label: str,
    out: Collector,
) -> None:
    ops = (label,)
    for media_type, entry in was.items():
        where = (*at, "content", media_type)
        if media_type not in now:
            out.add(
                Severity.BREAKING,
                "media-type-removed",
                where,
                media_type,
                None,
                f"{label}: {what} no longer offered as {media_type}",
                ops,
            )
            continue
        other = now[media_type] or {}
        entry = entry or {}
        for info in ("example", "examples"):
            if entry.get(info) != other.get(info):
                out.add(
                    Severity.INFO,
                    "example-changed",
                    (*where, info),
                    entry.get(info),
                    other.get(info),
                    f"{label}: {what} ({media_type}) {info} changed",
                    ops,
                )
        old_schema, new_schema = entry.get("schema"), other.get("schema")
        name = f"{what} ({media_type})"
        if old_schema is None and new_schema is not None:
            out.add(
                Severity.BREAKING if direction is Direction.REQUEST else Severity.NON_BREAKING,
                "schema-added",
                (*where, "schema"),
                None,
                summarize(new_schema),
                f"{label}: {name} now has a schema",
                ops,
            )
        elif old_schema is not None and new_schema is None:
            out.add(
                Severity.NON_BREAKING if direction is Direction.REQUEST else Severity.BREAKING,
                "schema-removed",
                (*where, "schema"),
                summarize(old_schema),
                None,
                f"{label}: {name} no longer has a schema",
                ops,
            )
        elif old_schema is not None:
            diff_schema(old_schema, new_schema, (*where, "schema"), name, direction, out, ops)
    for media_type in now:
        if media_type not in was:
            out.add(
                Severity.NON_BREAKING,
                "media-type-added",
                (*at, "content", media_type),
                None,
                media_type,
                f"{label}: {what} now also offered as {media_type}",
                ops,
            )


def _compare_request_body(was: Any, now: Any, at: JsonPath, label: str, out: Collector) -> None:
    ops = (label,)
    if not was and not now:
        return
    if was and not now:
        out.add(
            Severity.BREAKING,
            "request-body-removed",
            at,
            "documented",
            None,
            f"{label}: the request body is no longer documented",
            ops,
        )
        return
    if now and not was:
        required = bool(now.get("required"))
        out.add(
            Severity.BREAKING if required else Severity.NON_BREAKING,
            "request-body-added",
            at,
            None,
            summarize(now),
            f"{label}: new {'required' if required else 'optional'} request body",
            ops,
        )
        return
    if bool(was.get("required")) != bool(now.get("required")):
        became = bool(now.get("required"))
        out.add(
            Severity.BREAKING if became else Severity.NON_BREAKING,
            "request-body-became-required" if became else "request-body-no-longer-required",
            (*at, "required"),
            bool(was.get("required")),
            became,
            f"{label}: request body {'became required' if became else 'became optional'}",
            ops,
        )
    if was.get("description") != now.get("description"):
        out.add(
            Severity.INFO,
            "description-changed",
            (*at, "description"),
            was.get("description"),
            now.get("description"),
            f"{label}: request body description changed",
            ops,
        )
    _compare_content(
        was.get("content") or {},
        now.get("content") or {},
        at,
        "request body",
        Direction.REQUEST,
        label,
        out,
    )


def _compare_responses(
    was: Mapping[Any, Any], now: Mapping[Any, Any], at: JsonPath, label: str, out: Collector
) -> None:
    ops = (label,)
    old_codes = {str(code): response or {} for code, response in was.items()}
    new_codes = {str(code): response or {} for code, response in now.items()}
    for code, response in old_codes.items():
        where = (*at, code)
        if code not in new_codes:
            if is_derived(response):
                out.note(where, f"response {code} is a vendored addition this source lacks", ops)
            else:
                out.add(
                    Severity.BREAKING,
                    "response-removed",
                    where,
                    response.get("description"),
                    None,
                    f"{label}: response {code} removed",
                    ops,
                )
            continue
        other = new_codes[code]
        if response.get("description") != other.get("description"):
            out.add(
                Severity.INFO,
                "description-changed",
                (*where, "description"),
                response.get("description"),
                other.get("description"),
                f"{label}: response {code} description changed",
                ops,
            )
        old_headers = response.get("headers") or {}
        new_headers = other.get("headers") or {}
        for header in sorted({*old_headers, *new_headers}):
            header_at = (*where, "headers", header)
            if header not in new_headers:
                out.add(
                    Severity.BREAKING,
                    "response-header-removed",
                    header_at,
                    header,
                    None,
                    f"{label}: response {code} header {header} removed",
                    ops,
                )
            elif header not in old_headers:
                out.add(
                    Severity.NON_BREAKING,
                    "response-header-added",
                    header_at,
                    None,
                    header,
                    f"{label}: response {code} gained header {header}",
                    ops,
                )
            else:
                diff_schema(
                    (old_headers[header] or {}).get("schema"),
                    (new_headers[header] or {}).get("schema"),
                    (*header_at, "schema"),
                    f"response {code} header {header}",
                    Direction.RESPONSE,
                    out,
                    ops,
                )
        _compare_content(
            response.get("content") or {},
            other.get("content") or {},
            where,
            f"response {code} body",
            Direction.RESPONSE,
            label,
            out,
        )
    for code, response in new_codes.items():
        if code not in old_codes:
            out.add(
                Severity.NON_BREAKING,
                "response-added",
                (*at, code),
                None,
                response.get("description"),
                f"{label}: new response {code}",
                ops,
            )


def _compare_servers(old: LocatedOperation, new: LocatedOperation, out: Collector) -> None:
    was, now = effective_servers(old), effective_servers(new)
    if set(was) == set(now) or not was:
        return
    if not now:
        out.note(("servers",), "this source states no server URL", (old.label,))
    elif set(was) - set(now):
        out.add(
            Severity.BREAKING,
            "server-changed",
            ("servers",),
            was,
            now,
            f"server {', '.join(was)} -> {', '.join(now)}: clients must change their base URL",
            (old.label,),
        )
    else:
        out.add(
            Severity.NON_BREAKING,
            "server-added",
            ("servers",),
            was,
            now,
            f"new server {', '.join(sorted(set(now) - set(was)))}",
            (old.label,),
        )


def _show_auth(alternatives: set[frozenset[str]]) -> list[str]:
    return sorted(" + ".join(sorted(alt)) if alt else "no authentication" for alt in alternatives)


def _compare_auth(old: LocatedOperation, new: LocatedOperation, out: Collector) -> None:
    was, now = auth_alternatives(old), auth_alternatives(new)
    if was == now:
        return
    lost = [alt for alt in was if not any(option <= alt for option in now)]
    shown_was, shown_now = _show_auth(was), _show_auth(now)
    if lost:
        out.add(
            Severity.BREAKING,
            "auth-changed",
            ("security",),
            shown_was,
            shown_now,
            f"authentication {' or '.join(shown_was)} -> {' or '.join(shown_now)}: "
            "clients must send other credentials",
            (old.label,),
        )
    else:
        out.add(
            Severity.NON_BREAKING,
            "auth-added",
            ("security",),
            shown_was,
            shown_now,
            f"authentication now also accepts {' or '.join(shown_now)}",
            (old.label,),
        )

"""Differential mode (``--compare B``): the same generated requests to two servers.

Runs only when a second target is given. Each request, to every operation of every
family, goes to both; every difference in status, body shape or fields named (and, under
the observed profile, in the live API's headers and error bodies) is collected (not
stopped at), then reported as a table and, with ``--contract-diff-json``, as JSON. The
check fails if any differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mockserver.spec import Operation

from .differential import DifferentialReport, Disagreement
from .exchange import Auth, Exchange
from .mutations import (
    every_field_invalid_body,
    explicit_invalid_bodies,
    explicit_invalid_queries,
    invalid_bodies,
    invalid_queries,
    multi_field_invalid_bodies,
)
from .operations import Family, request_schema
from .outcome import DIFF_REPORT_KEY
from .session import ContractSession, ContractViolation, Failure
from .strategies import minimal_body, valid_bodies, valid_queries
from .targets import Target

_BAD_KEYS: list[Auth] = ["none", "wrong"]

# A request: its kind (for grouping) and how to send it to one target.
Request = tuple[str, Callable[[ContractSession, Target], Exchange]]


def _create(
    operation: Operation, body: Any, auth: Auth = "key", paid: bool = False
) -> Callable[..., Exchange]:
    def send(contract: ContractSession, target: Target) -> Exchange:
        return target.send("POST", operation.path, body=body, auth=auth, paid=paid)

    return send


def _get(family: Family, task_id: str) -> Callable[..., Exchange]:
    def send(contract: ContractSession, target: Target) -> Exchange:
        return target.send("GET", family.task_path(task_id))

    return send


def _list(family: Family, query: dict[str, str], auth: Auth = "key") -> Callable[..., Exchange]:
    def send(contract: ContractSession, target: Target) -> Exchange:
        return target.send("GET", family.list.path, query=query, auth=auth)

    return send


def _operation_requests(
    contract: ContractSession, operation: Operation, paid: bool
) -> list[st.SearchStrategy[Request]]:
    schema = request_schema(operation)
    null = contract.profile.null_is_absent
    post = f"POST {operation.path}"
    kinds: list[st.SearchStrategy[Request]] = [
        invalid_bodies(schema, null_is_absent=null).map(
            lambda c: (f"{post}: {c[1]}", _create(operation, c[0]))
        ),
        multi_field_invalid_bodies(schema, null_is_absent=null).map(
            lambda c: (f"{post}: several fields broken", _create(operation, c[0]))
        ),
        st.sampled_from(_BAD_KEYS).map(
            lambda a: (f"{post} with API key: {a}", _create(operation, minimal_body(schema), a))
        ),
    ]
    if paid:
        kinds.append(
            valid_bodies(schema, null_optional=null).map(
                lambda b: (f"{post} (valid)", _create(operation, b, paid=True))
            )
        )
    return kinds


def _family_requests(family: Family) -> list[st.SearchStrategy[Request]]:
    params = family.query_parameters()
    kinds: list[st.SearchStrategy[Request]] = [
        st.uuids().map(lambda u: (f"GET {family.get.path} unknown task", _get(family, str(u)))),
        valid_queries(params).map(lambda q: (f"GET {family.list.path}", _list(family, q))),
    ]
    if explicit_invalid_queries(params):
        kinds.append(
            invalid_queries(params).map(
                lambda c: (f"GET {family.list.path}: {c[1]}", _list(family, c[0]))
            )
        )
    return kinds


def requests(contract: ContractSession, paid: bool) -> st.SearchStrategy[Request]:
    """Every kind of request the suite sends, to every operation of every family; valid
    creates only when both targets may create."""
    kinds: list[st.SearchStrategy[Request]] = []
    for family in contract.spec.families:
        for operation in family.creates:
            kinds += _operation_requests(contract, operation, paid)
        kinds += _family_requests(family)
    return st.one_of(kinds)


def explicit_requests(contract: ContractSession) -> list[Request]:
    """The fixed requests every run compares: one per mutation, auth case and query case,
    for every operation."""
    null = contract.profile.null_is_absent
    out: list[Request] = []
    for family in contract.spec.families:
        for operation in family.creates:
            schema = request_schema(operation)
            post = f"POST {operation.path}"
            every_field, _ = every_field_invalid_body(schema, null_is_absent=null)
            out += [
                (f"{post}: {mutation}", _create(operation, body))
                for body, mutation in explicit_invalid_bodies(
                    schema, null_is_absent=null, body_required=operation.request_body_required
                )
            ]
            out.append((f"{post}: several fields broken", _create(operation, every_field)))
            out += [
                (f"{post} with API key: {a}", _create(operation, minimal_body(schema), a))
                for a in _BAD_KEYS
            ]
        lists = f"GET {family.list.path}"
        out += [(f"{lists} with API key: {a}", _list(family, {}, a)) for a in _BAD_KEYS]
        out += [
            (f"{lists}: {mutation}", _list(family, query))
            for query, mutation in explicit_invalid_queries(family.query_parameters())
        ]
    return out


def test_differential(contract: ContractSession, request: pytest.FixtureRequest) -> None:
    compare = contract.compare
    if compare is None:
        pytest.skip("differential mode needs --compare B (--contract-compare B)")
    target = contract.target
    report = DifferentialReport(target.label, compare.label, contract.profile.name)
    request.config.stash[DIFF_REPORT_KEY] = report
    paid = target.can_create() and compare.can_create()
    if not paid:
        contract.note("valid creates were not compared: one target bills them (--allow-spend)")

    @contract.settings(paid=paid and (target.bills_creates or compare.bills_creates))
    @given(case=requests(contract, paid))
    def send_to_both(case: Request) -> None:
        kind, send = case
        contract.ledger.count()
        report.add(kind, send(contract, target), send(contract, compare))

    for case in explicit_requests(contract):
        send_to_both = example(case=case)(send_to_both)
    send_to_both()
    if contract.options.diff_json is not None:
        report.write_json(contract.options.diff_json)
    if report.groups:
        first = report.disagreements[0]
        contract.ledger.failures[contract.ledger.current_check] = _failure(report, first)
        raise ContractViolation(report.table())


def _failure(report: DifferentialReport, first: Disagreement) -> Failure:
    return Failure(
        check="test_differential",
        problems=[
            f"{len(report.groups)} kind(s) of disagreement; first: {first.kind} "
            f"differs in {', '.join(first.differences)}"
        ],
        request=first.a.describe_request(),
        response=f"A: {first.a.describe_response(200)} | B: {first.b.describe_response(200)}",
    )

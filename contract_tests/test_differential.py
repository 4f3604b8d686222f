"""Differential mode (``--compare B``): the same generated requests to two servers.

Runs only when a second target is given. Each request goes to both; every difference
in status, body shape or fields named is collected (not stopped at), then reported as
a table and, with ``--contract-diff-json``, as JSON. The check fails if any differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

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
from .outcome import DIFF_REPORT_KEY
from .session import ContractSession, ContractViolation, Failure
from .strategies import minimal_body, valid_bodies, valid_queries
from .targets import Target

_BAD_KEYS: list[Auth] = ["none", "wrong"]

# A request: its kind (for grouping) and how to send it to one target.
Request = tuple[str, Callable[[ContractSession, Target], Exchange]]


def _create(body: Any, auth: Auth = "key", paid: bool = False) -> Callable[..., Exchange]:
    def send(contract: ContractSession, target: Target) -> Exchange:
        return target.send("POST", contract.spec.create.path, body=body, auth=auth, paid=paid)

    return send


def _get(task_id: str) -> Callable[..., Exchange]:
    def send(contract: ContractSession, target: Target) -> Exchange:
        return target.send("GET", contract.task_path(task_id))

    return send


def _list(query: dict[str, str], auth: Auth = "key") -> Callable[..., Exchange]:
    def send(contract: ContractSession, target: Target) -> Exchange:
        return target.send("GET", contract.spec.list.path, query=query, auth=auth)

    return send


def requests(contract: ContractSession, paid: bool) -> st.SearchStrategy[Request]:
    """Every kind of request the suite sends; valid creates only when both may create."""
    schema = contract.spec.request_schema
    params = contract.spec.query_parameters()
    kinds: list[st.SearchStrategy[Request]] = [
        invalid_bodies(schema).map(lambda c: (f"create: {c[1]}", _create(c[0]))),
        multi_field_invalid_bodies(schema).map(
            lambda c: ("create: several fields broken", _create(c[0]))
        ),
        st.sampled_from(_BAD_KEYS).map(
            lambda a: (f"create with API key: {a}", _create(minimal_body(schema), a))
        ),
        st.uuids().map(lambda u: ("get unknown task", _get(str(u)))),
        valid_queries(params).map(lambda q: ("list", _list(q))),
        invalid_queries(params).map(lambda c: (f"list: {c[1]}", _list(c[0]))),
    ]
    if paid:
        kinds.append(valid_bodies(schema).map(lambda b: ("create (valid)", _create(b, paid=True))))
    return st.one_of(kinds)


def explicit_requests(contract: ContractSession) -> list[Request]:
    """The fixed requests every run compares: one per mutation, auth case and query case."""
    schema = contract.spec.request_schema
    every_field, _ = every_field_invalid_body(schema)
    out: list[Request] = [
        (f"create: {mutation}", _create(body)) for body, mutation in explicit_invalid_bodies(schema)
    ]
    out.append(("create: several fields broken", _create(every_field)))
    out += [(f"create with API key: {a}", _create(minimal_body(schema), a)) for a in _BAD_KEYS]
    out += [(f"list with API key: {a}", _list({}, a)) for a in _BAD_KEYS]
    out += [
        (f"list: {mutation}", _list(query))
        for query, mutation in explicit_invalid_queries(contract.spec.query_parameters())
    ]
    return out


def test_differential(contract: ContractSession, request: pytest.FixtureRequest) -> None:
    compare = contract.compare
    if compare is None:
        pytest.skip("differential mode needs --compare B (--contract-compare B)")
    target = contract.target
    report = DifferentialReport(target.label, compare.label)
    request.config.stash[DIFF_REPORT_KEY] = report
    paid = target.can_create() and compare.can_create()
    if not paid:
        contract.note("valid creates were not compared: one target bills them (--allow-spend)")

    @contract.settings(paid=paid and (target.bills_creates or compare.bills_creates))
    @given(case=requests(contract, paid))
    def send_to_both(case: Request) -> None:
        kind, send = case
        contract.ledger.examples[contract.ledger.current_check] += 1
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

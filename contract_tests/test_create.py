"""Creating a task, through every create operation of every family: valid bodies are
accepted, invalid ones refused with each broken field named as the profile expects.

Each check's ``--examples`` are divided among the create operations, so a check costs
about the same however many tiers the spec has; the fixed cases (every boundary, every
mutation) run for each operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given

from mockserver.spec import Operation

from .mutations import (
    Mutation,
    every_field_invalid_body,
    explicit_invalid_bodies,
    invalid_bodies,
    multi_field_invalid_bodies,
)
from .operations import request_schema
from .profiles import broken_in_body
from .session import ContractSession
from .strategies import boundary_bodies, valid_bodies


def _only_single_target(contract: ContractSession) -> None:
    if contract.compare is not None:
        pytest.skip("differential mode: only test_differential runs")


def test_valid_requests_are_accepted(contract: ContractSession) -> None:
    """Every valid body (every field, enum value and boundary; under observed, null on
    optional fields) gets a documented 200, in the form the profile expects."""
    _only_single_target(contract)
    if contract.target.bills_creates and not contract.target.can_create():
        pytest.skip("each accepted request creates a paid task: pass --allow-spend N")
    for operation in contract.spec.creates:
        if not contract.target.can_create():
            contract.note(f"POST {operation.path}: no valid create sent, --allow-spend used up")
            continue
        _valid_check(contract, operation)()


def _valid_check(contract: ContractSession, operation: Operation) -> Callable[[], None]:
    schema = request_schema(operation)
    null_optional = contract.profile.null_is_absent

    @contract.settings(paid=True, share=len(contract.spec.creates))
    @given(body=valid_bodies(schema, null_optional=null_optional))
    def check(body: dict[str, Any]) -> None:
        exchange = contract.create(operation, body, paid=True)
        problems = contract.profile.answer(operation, exchange)
        if not problems and exchange.status != 200:
            problems = [f"a valid request got {exchange.status}, not 200"]
        problems += contract.profile.created(exchange)
        contract.verify(exchange, problems)

    if not contract.target.bills_creates:
        for body in boundary_bodies(schema, null_optional=null_optional):
            check = example(body=body)(check)
    return check


def _refused(
    contract: ContractSession, operation: Operation, body: Any, mutations: tuple[Mutation, ...]
) -> None:
    exchange = contract.create(operation, body)
    problems = contract.profile.answer(operation, exchange)
    described = ", ".join(map(str, mutations)) if len(mutations) == 1 else "several fields broken"
    if 200 <= exchange.status < 300:
        problems.append(f"an invalid request ({described}) was accepted")
    elif exchange.status != 400:
        problems.append(f"an invalid request ({described}) got {exchange.status}, not 400")
    else:
        broken = broken_in_body(request_schema(operation), body, mutations)
        examples = contract.spec.examples(operation, "400")
        problems += contract.profile.refusal(examples, exchange, broken)
    contract.verify(exchange, problems)


def test_invalid_requests_are_refused(contract: ContractSession) -> None:
    """A body with one mutation gets a documented 400 that names the mutated field."""
    _only_single_target(contract)
    for operation in contract.spec.creates:
        _invalid_check(contract, operation)()


def _invalid_check(contract: ContractSession, operation: Operation) -> Callable[[], None]:
    schema = request_schema(operation)
    null_is_absent = contract.profile.null_is_absent
    required = operation.request_body_required

    @contract.settings(share=len(contract.spec.creates))
    @given(case=invalid_bodies(schema, null_is_absent=null_is_absent, body_required=required))
    def check(case: tuple[Any, Mutation]) -> None:
        body, mutation = case
        _refused(contract, operation, body, (mutation,))

    for case in explicit_invalid_bodies(
        schema, null_is_absent=null_is_absent, body_required=required
    ):
        check = example(case=case)(check)
    return check


def test_every_broken_field_is_named(contract: ContractSession) -> None:
    """A body broken on several fields gets a 400 naming every one of them."""
    _only_single_target(contract)
    for operation in contract.spec.creates:
        _several_fields_check(contract, operation)()


def _several_fields_check(contract: ContractSession, operation: Operation) -> Callable[[], None]:
    schema = request_schema(operation)
    null_is_absent = contract.profile.null_is_absent

    @contract.settings(share=len(contract.spec.creates))
    @given(case=multi_field_invalid_bodies(schema, null_is_absent=null_is_absent))
    def check(case: tuple[dict[str, Any], tuple[Mutation, ...]]) -> None:
        body, mutations = case
        _refused(contract, operation, body, mutations)

    every = every_field_invalid_body(schema, null_is_absent=null_is_absent)
    return example(case=every)(check)


def test_malformed_json_is_refused(contract: ContractSession) -> None:
    """A body that is not JSON at all gets a documented 400, never a 5xx. (What the live
    API says then was never observed: the status and the headers are all that is checked.)"""
    _only_single_target(contract)
    for operation in contract.spec.creates:
        for raw in (b"{not json", b'{"a": ', b"\xff\xfe"):
            exchange = contract.create_raw(operation, raw)
            problems = contract.profile.answer(operation, exchange)
            if exchange.status != 400:
                problems.append(f"a malformed body got {exchange.status}, not 400")
            contract.verify(exchange, problems)

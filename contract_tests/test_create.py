"""Creating a task: valid bodies are accepted, invalid ones refused with the field named."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given

from . import checks
from .mutations import (
    Mutation,
    every_field_invalid_body,
    explicit_invalid_bodies,
    invalid_bodies,
    multi_field_invalid_bodies,
)
from .session import ContractSession
from .strategies import boundary_bodies, valid_bodies


def _only_single_target(contract: ContractSession) -> None:
    if contract.compare is not None:
        pytest.skip("differential mode: only test_differential runs")


def test_valid_requests_are_accepted(contract: ContractSession) -> None:
    """Every valid body (every field, enum value and boundary) gets a documented 200."""
    _only_single_target(contract)
    if contract.target.bills_creates and not contract.target.can_create():
        pytest.skip("each accepted request creates a paid task: pass --allow-spend N")
    schema = contract.spec.request_schema

    @contract.settings(paid=True)
    @given(body=valid_bodies(schema))
    def check(body: dict[str, Any]) -> None:
        exchange = contract.create(body, paid=True)
        problems = checks.check_answer(contract.spec.create, exchange)
        if not problems and exchange.status != 200:
            problems = [f"a valid request got {exchange.status}, not 200"]
        contract.verify(exchange, problems)

    if not contract.target.bills_creates:
        for body in boundary_bodies(schema):
            check = example(body=body)(check)
    check()


def test_invalid_requests_are_refused(contract: ContractSession) -> None:
    """A body with one mutation gets a documented 400 that names the mutated field."""
    _only_single_target(contract)
    schema = contract.spec.request_schema

    @contract.settings()
    @given(case=invalid_bodies(schema))
    def check(case: tuple[Any, Mutation]) -> None:
        body, mutation = case
        exchange = contract.create(body)
        problems = checks.check_answer(contract.spec.create, exchange)
        if 200 <= exchange.status < 300:
            problems.append(f"an invalid request ({mutation}) was accepted")
        elif exchange.status != 400:
            problems.append(f"an invalid request ({mutation}) got {exchange.status}, not 400")
        elif mutation.field is not None:
            problems += checks.names_fields(exchange, [mutation.field])
        contract.verify(exchange, problems)

    for case in explicit_invalid_bodies(schema):
        check = example(case=case)(check)
    check()


def test_every_broken_field_is_named(contract: ContractSession) -> None:
    """A body broken on several fields gets a 400 naming every one of them."""
    _only_single_target(contract)
    schema = contract.spec.request_schema

    @contract.settings()
    @given(case=multi_field_invalid_bodies(schema))
    def check(case: tuple[dict[str, Any], tuple[Mutation, ...]]) -> None:
        body, mutations = case
        exchange = contract.create(body)
        problems = checks.check_answer(contract.spec.create, exchange)
        if exchange.status != 400:
            problems.append(f"an invalid request got {exchange.status}, not 400")
        else:
            problems += checks.names_fields(exchange, [m.field for m in mutations if m.field])
        contract.verify(exchange, problems)

    check = example(case=every_field_invalid_body(schema))(check)
    check()


def test_malformed_json_is_refused(contract: ContractSession) -> None:
    """A body that is not JSON at all gets a documented 400, never a 5xx."""
    _only_single_target(contract)
    for raw in (b"{not json", b'{"video_url": ', b"\xff\xfe"):
        exchange = contract.create_raw(raw)
        problems = checks.check_answer(contract.spec.create, exchange)
        if exchange.status != 400:
            problems.append(f"a malformed body got {exchange.status}, not 400")
        contract.verify(exchange, problems)

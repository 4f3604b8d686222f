"""Reading tasks: an unknown id and the list's query parameters, as the spec documents them."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from . import checks
from .mutations import Mutation, explicit_invalid_queries, invalid_queries
from .session import ContractSession
from .strategies import valid_queries


def _only_single_target(contract: ContractSession) -> None:
    if contract.compare is not None:
        pytest.skip("differential mode: only test_differential runs")


def test_unknown_task_is_a_documented_answer(contract: ContractSession) -> None:
    """GET of an id no one created: a documented status (404 per the spec), never a 2xx."""
    _only_single_target(contract)

    @contract.settings()
    @given(task_id=st.uuids().map(str))
    def check(task_id: str) -> None:
        exchange = contract.get_task(task_id)
        problems = checks.check_answer(contract.spec.get, exchange)
        if 200 <= exchange.status < 300:
            problems.append("a task that was never created was found")
        contract.verify(exchange, problems)

    check()


def test_valid_list_queries_are_answered(contract: ContractSession) -> None:
    """Any valid page/page_size gets a documented 200 with a list body."""
    _only_single_target(contract)
    parameters = contract.spec.query_parameters()

    @contract.settings()
    @given(query=valid_queries(parameters))
    def check(query: dict[str, str]) -> None:
        exchange = contract.list_tasks(query)
        problems = checks.check_answer(contract.spec.list, exchange)
        if not problems and exchange.status != 200:
            problems.append(f"a valid query got {exchange.status}, not 200")
        contract.verify(exchange, problems)

    check()


def test_invalid_list_queries_are_refused(contract: ContractSession) -> None:
    """A query with one broken parameter gets a documented 400 that names it."""
    _only_single_target(contract)
    parameters = contract.spec.query_parameters()
    if not any(True for _ in explicit_invalid_queries(parameters)):
        pytest.skip("the spec gives the list operation no parameter that can be invalid")

    @contract.settings()
    @given(case=invalid_queries(parameters))
    def check(case: tuple[dict[str, str], Mutation]) -> None:
        query, mutation = case
        exchange = contract.list_tasks(query)
        problems = checks.check_answer(contract.spec.list, exchange)
        if exchange.status != 400:
            problems.append(f"an invalid query ({mutation}) got {exchange.status}, not 400")
        elif mutation.field is not None:
            problems += checks.names_fields(exchange, [mutation.field])
        contract.verify(exchange, problems)

    for case in explicit_invalid_queries(parameters):
        check = example(case=case)(check)
    check()

"""Reading tasks, in every family: an unknown id and the list's query parameters, as the
spec documents them; and a task is read and listed only through its own family."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mockserver.spec import Operation

from .mutations import Mutation, explicit_invalid_queries, invalid_queries
from .operations import Family, request_schema
from .profiles import broken_in_query
from .session import ContractSession
from .strategies import minimal_body, valid_queries


def _only_single_target(contract: ContractSession) -> None:
    if contract.compare is not None:
        pytest.skip("differential mode: only test_differential runs")


def test_unknown_task_is_a_documented_answer(contract: ContractSession) -> None:
    """GET of an id no one created: a documented status (404 per the spec), never a 2xx."""
    _only_single_target(contract)
    for family in contract.spec.families:
        _unknown_task_check(contract, family)()


def _unknown_task_check(contract: ContractSession, family: Family) -> Callable[[], None]:
    @contract.settings(share=len(contract.spec.families))
    @given(task_id=st.uuids().map(str))
    def check(task_id: str) -> None:
        exchange = contract.get_task(family, task_id)
        problems = contract.profile.not_found(family.get, exchange)
        if 200 <= exchange.status < 300:
            problems.append("a task that was never created was found")
        contract.verify(exchange, problems)

    return check


def test_valid_list_queries_are_answered(contract: ContractSession) -> None:
    """Any valid page/page_size gets a documented 200 with a list body."""
    _only_single_target(contract)
    for family in contract.spec.families:
        _valid_query_check(contract, family)()


def _valid_query_check(contract: ContractSession, family: Family) -> Callable[[], None]:
    @contract.settings(share=len(contract.spec.families))
    @given(query=valid_queries(family.query_parameters()))
    def check(query: dict[str, str]) -> None:
        exchange = contract.list_tasks(family, query)
        problems = contract.profile.answer(family.list, exchange)
        if not problems and exchange.status != 200:
            problems.append(f"a valid query got {exchange.status}, not 200")
        contract.verify(exchange, problems)

    return check


def test_invalid_list_queries_are_refused(contract: ContractSession) -> None:
    """A query with one broken parameter gets a documented 400 that names it."""
    _only_single_target(contract)
    families = [f for f in contract.spec.families if explicit_invalid_queries(f.query_parameters())]
    if not families:
        pytest.skip("the spec gives no list operation a parameter that can be invalid")
    for family in families:
        _invalid_query_check(contract, family, share=len(families))()


def _invalid_query_check(
    contract: ContractSession, family: Family, share: int
) -> Callable[[], None]:
    parameters = family.query_parameters()

    @contract.settings(share=share)
    @given(case=invalid_queries(parameters))
    def check(case: tuple[dict[str, str], Mutation]) -> None:
        query, mutation = case
        exchange = contract.list_tasks(family, query)
        problems = contract.profile.answer(family.list, exchange)
        if exchange.status != 400:
            problems.append(f"an invalid query ({mutation}) got {exchange.status}, not 400")
        elif mutation.field is not None:
            examples = contract.spec.examples(family.list, "400")
            broken = broken_in_query(parameters, query, mutation)
            problems += contract.profile.refusal(examples, exchange, broken)
        contract.verify(exchange, problems)

    for case in explicit_invalid_queries(parameters):
        check = example(case=case)(check)
    return check


def test_tasks_are_read_only_through_their_own_family(contract: ContractSession) -> None:
    """A task created through any create of a family is found through that family's GET
    paths, and is a 404 through every other family's GET and absent from its list."""
    _only_single_target(contract)
    families = contract.spec.families
    if len(families) < 2:
        pytest.skip("the spec has one task family only")
    # Against a billing target one task per family; else one per create operation.
    creates = [
        op
        for f in families
        for op in (f.creates[:1] if contract.target.bills_creates else f.creates)
    ]
    if contract.target.budget is not None and contract.target.budget.remaining < len(creates):
        pytest.skip(
            f"this check creates {len(creates)} paid tasks: pass --allow-spend {len(creates)}"
        )
    for operation in creates:
        own = contract.spec.family_of(operation)
        created = contract.create(operation, minimal_body(request_schema(operation)), paid=True)
        problems = contract.profile.answer(operation, created)
        data = (
            created.response_body.get("data") if isinstance(created.response_body, dict) else None
        )
        task_id = data.get("task_id") if isinstance(data, dict) else None
        if created.status != 200 or not isinstance(task_id, str):
            problems.append(f"a valid create got {created.status} without a data.task_id")
        contract.verify(created, problems)
        assert isinstance(task_id, str)
        read = contract.get_task(own, task_id)
        problems = contract.profile.answer(own.get, read)
        if read.status != 200:
            problems.append(f"the task is not found through its own family's GET ({read.status})")
        contract.verify(read, problems)
        found, answer = contract.listed(own, task_id)
        if not found:
            contract.verify(answer, [f"the task is not in its own family's list {own.list.path}"])
        for other in families:
            if other is not own:
                _not_found_through(contract, operation, own, other, task_id)


def _not_found_through(
    contract: ContractSession, operation: Operation, own: Family, other: Family, task_id: str
) -> None:
    """The task is a 404 through ``other``'s GET and absent from its list, but where
    ``other`` shares them with ``own`` (a read of all tiers serves each tier's tasks)."""
    if other.get != own.get:
        read = contract.get_task(other, task_id)
        problems = contract.profile.not_found(other.get, read)
        if read.status != 404:
            problems.append(
                f"a task created by POST {operation.path} got {read.status} through "
                f"another family's GET, not 404"
            )
        contract.verify(read, problems)
    if other.list != own.list:
        found, answer = contract.listed(other, task_id)
        if found:
            contract.verify(
                answer, [f"a task created by POST {operation.path} is in another family's list"]
            )

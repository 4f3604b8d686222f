"""Authentication: a missing or wrong API key gets the 401 the profile expects, on every
operation of every family."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from mockserver.spec import Operation

from .exchange import Auth, Exchange
from .operations import Family, request_schema
from .session import ContractSession
from .strategies import minimal_body

# An operation, and how to send it one request with the given credential.
Sender = Callable[[ContractSession, Auth], Exchange]


def _senders(contract: ContractSession, role: str) -> Iterator[tuple[Operation, Sender]]:
    for family in contract.spec.families:
        if role == "create":
            for operation in family.creates:
                yield operation, _create(operation)
        elif role == "get":
            yield family.get, _get(family)
        else:
            yield family.list, _list(family)


def _create(operation: Operation) -> Sender:
    body = minimal_body(request_schema(operation))
    return lambda contract, auth: contract.create(operation, body, auth=auth)


def _get(family: Family) -> Sender:
    return lambda contract, auth: contract.get_task(family, contract.unknown_task_id(), auth=auth)


def _list(family: Family) -> Sender:
    return lambda contract, auth: contract.list_tasks(family, auth=auth)


_ROLES = ("create", "get", "list")


def _refused(contract: ContractSession, role: str, auth: Auth) -> None:
    for operation, send in _senders(contract, role):
        exchange = send(contract, auth)
        problems = contract.profile.answer(operation, exchange)
        if exchange.status != 401:
            problems.append(f"a request with {auth} API key got {exchange.status}, not 401")
        else:
            examples = contract.spec.examples(operation, "401")
            problems += contract.profile.refused_key(examples, exchange, auth)
        contract.verify(exchange, problems)


@pytest.mark.parametrize("operation_name", _ROLES)
def test_missing_key_is_refused(contract: ContractSession, operation_name: str) -> None:
    if contract.compare is not None:
        pytest.skip("differential mode: only test_differential runs")
    _refused(contract, operation_name, "none")


@pytest.mark.parametrize("operation_name", _ROLES)
def test_wrong_key_is_refused(contract: ContractSession, operation_name: str) -> None:
    if contract.compare is not None:
        pytest.skip("differential mode: only test_differential runs")
    if contract.target.kind in ("url", "asgi"):
        # A server under test may accept any key (the fake does unless started with
        # --api-key); that is configuration, not a contract failure.
        probe = contract.list_tasks(contract.spec.families[0], auth="wrong")
        if 200 <= probe.status < 300:
            contract.note(f"{contract.target.label} accepts any API key; wrong keys not checked")
            pytest.skip("the server accepts any API key (start it with --api-key to check this)")
    _refused(contract, operation_name, "wrong")
